/**
 * Arming the station: the image (the one chosen on the first screen, or chosen here), the station's own
 * settings (cards at a time, the largest drive taken, only write what differs, slots), the checking settings
 * it takes from Settings, and — before anything — the drives present now, which the station never touches.
 */
import { useId, useState } from 'react';
import { MAX_STATION_CARDS } from '../../shared/api';
import { formatBytes } from '../../shared/format';
import { driveName } from '../model/drive-display';
import { guiText } from '../model/gui-text';
import { sizeLine } from '../model/image-facts';
import { guiNextStep } from '../model/verdict';
import { DEFAULT_STATION_FORM, stationFormProblem, type StationForm } from '../store/station-slice';
import { useApp } from '../store/store-context';
import { Icon } from './icon';
import { fileNameTail, TruncatedText } from './truncated-text';

function NumberField(props: { label: string; hint: string; value: string; min: number; max: number; step?: number; onChange(value: string): void }) {
  const hintId = useId();
  return (
    <div className="setting">
      <label className="setting-label">
        {props.label}{' '}
        <input type="number" min={props.min} max={props.max} step={props.step ?? 1} value={props.value} aria-describedby={hintId} onChange={(e) => props.onChange(e.target.value)} />
      </label>
      <p id={hintId} className="setting-hint">
        {props.hint}
      </p>
    </div>
  );
}

export function StationSetup() {
  const image = useApp((s) => s.image);
  const imageBusy = useApp((s) => s.imageBusy);
  const imageError = useApp((s) => s.imageError);
  const drives = useApp((s) => s.drives);
  const settings = useApp((s) => s.settings);
  const pickImage = useApp((s) => s.pickImage);
  const openPanel = useApp((s) => s.openPanel);
  const openStation = useApp((s) => s.openStation);
  const arm = useApp((s) => s.armStation);
  const arming = useApp((s) => s.stationArming);
  const error = useApp((s) => s.stationError);
  const showCards = useApp((s) => s.showHistoryCards);
  const [maxCards, setMaxCards] = useState(String(DEFAULT_STATION_FORM.maxCards));
  const [maxSizeGb, setMaxSizeGb] = useState(String(DEFAULT_STATION_FORM.maxSizeGb));
  const [skipIdentical, setSkipIdentical] = useState(settings.skipIdentical);
  const [slots, setSlots] = useState('');
  const slotsHint = useId();

  const form: StationForm = {
    maxCards: Number(maxCards),
    maxSizeGb: Number(maxSizeGb),
    skipIdentical,
    slots: slots
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
  const problem = maxCards.trim() === '' || maxSizeGb.trim() === '' ? 'Fill in every number.' : stationFormProblem(form);

  return (
    <section className="station-setup" aria-labelledby="station-setup-title">
      <div className="station-intro">
        <div className="station-intro-head">
          <h2 id="station-setup-title">Station mode</h2>
          <button type="button" className="link" onClick={() => void showCards()}>
            Card history
          </button>
        </div>
        <p>Arm it once, then insert cards: each one is flashed, read back, recorded, and given a health verdict.</p>
      </div>
      <div className="station-columns">
        <div className="station-panel" role="group" aria-label="Station image">
          <h3>
            <Icon name="image" /> Image
          </h3>
          {image ? (
            <>
              <TruncatedText className="station-image-name" text={image.name} keepEnd={fileNameTail(image.name)} testId="station-image" />
              <p className="muted">{sizeLine(image)}</p>
            </>
          ) : (
            <p className="muted">Choose the image every card gets.</p>
          )}
          <button type="button" onClick={() => void pickImage()} disabled={imageBusy || arming}>
            {image ? 'Change image' : 'Select image'}
          </button>
          {imageError && (
            <p className="error" role="alert">
              {imageError}
            </p>
          )}
          <h3 className="untouched-title">
            <Icon name="drives" /> Never touched
          </h3>
          <p className="muted" data-testid="untouched-count">
            {drives.length === 0 ? 'No drive is present now.' : `${drives.length === 1 ? 'This drive is' : `These ${drives.length} drives are`} present now and will never be touched:`}
          </p>
          {drives.length > 0 && (
            <ul className="untouched-list" aria-label="Drives never touched">
              {drives.map((d) => (
                <li key={d.device} title={`${driveName(d)} (${d.device})`}>
                  <span className="untouched-name">{driveName(d)}</span>
                  <span className="untouched-path">
                    {d.device} · {formatBytes(d.size)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="station-panel" role="group" aria-label="Station settings">
          <h3>
            <Icon name="settings" /> Settings
          </h3>
          <NumberField label="Cards at a time" hint={`Cards flashed together (1 to ${MAX_STATION_CARDS}); more wait their turn.`} value={maxCards} min={1} max={MAX_STATION_CARDS} onChange={setMaxCards} />
          <NumberField label="Largest drive taken (GB)" hint="Bigger drives are never taken: a backup disk plugged in stays safe." value={maxSizeGb} min={1} max={1_000_000} onChange={setMaxSizeGb} />
          <div className="setting">
            <label className="setting-label">
              <input type="checkbox" checked={skipIdentical} onChange={(e) => setSkipIdentical(e.target.checked)} /> Only write what differs
            </label>
          </div>
          <div className="setting">
            <label className="setting-label" htmlFor="station-slots">
              Only these slots (optional)
            </label>
            <textarea id="station-slots" rows={2} value={slots} aria-describedby={slotsHint} placeholder="/devices/…/usb2/2-1" onChange={(e) => setSlots(e.target.value)} />
            <p id={slotsHint} className="setting-hint">
              USB port paths, one a line; empty takes any slot.
            </p>
          </div>
          <p className="station-checks">
            {settings.readback ? `Reads every card back; rewrites up to ${settings.retries} ${settings.retries === 1 ? 'time' : 'times'}.` : 'Read back is off: no card can be verified.'}
            {settings.probe ? ' Checks real capacity.' : ''}{' '}
            <button type="button" className="link" onClick={() => openPanel('settings')}>
              Change in Settings
            </button>
          </p>
        </div>
      </div>
      {(error || problem) && (
        <div className="error" role="alert">
          <p>{error ? guiText(error.message) : problem}</p>
          {error && error.code !== 'USAGE' && error.code !== 'NOT_CONFIRMED' && <p>{guiNextStep(error.code)}</p>}
        </div>
      )}
      <div className="station-actions">
        <button type="button" onClick={() => openStation(false)} disabled={arming}>
          Back
        </button>
        <button type="button" className="primary step-button" disabled={image === null || problem !== null || arming} onClick={() => void arm(form)}>
          {arming ? 'Arming…' : 'Arm station'}
        </button>
      </div>
    </section>
  );
}
