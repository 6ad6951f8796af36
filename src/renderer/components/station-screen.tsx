/**
 * Station mode: the arming form until the station is armed, then the station itself — what it is armed
 * with, the drives it never touches, one tile per slot, the drives it did not take — with "Stop station"
 * (no more cards; running ones finish) and then "Cancel running cards", and the summary once it stopped.
 */
import { useEffect, useState } from 'react';
import { formatBytes } from '../../shared/format';
import { LARGE_DRIVE_BYTES } from '../../shared/drive-rules';
import type { StationStatus } from '../../shared/station';
import { guiText } from '../model/gui-text';
import { refusalLine, summaryCounts, summaryHeadline } from '../model/station-words';
import { isStationRunning } from '../store/station-state';
import { useApp } from '../store/store-context';
import { CancelDialog } from './confirm-dialogs';
import { StationSetup } from './station-setup';
import { StationTiles } from './station-tiles';
import { TruncatedText, fileNameTail } from './truncated-text';

function stateLine(status: StationStatus, running: number): string {
  switch (status.state) {
    case 'armed':
      return running > 0 ? `Armed: ${running} ${running === 1 ? 'card' : 'cards'} flashing` : 'Armed: waiting for cards';
    case 'stopping':
      return `Stopping: ${running} ${running === 1 ? 'card' : 'cards'} finishing, no new cards`;
    case 'cancelling':
      return `Cancelling ${running} running ${running === 1 ? 'card' : 'cards'}`;
    case 'stopped':
      return 'Stopped';
    case 'idle':
      return 'Not armed';
  }
}

function StationBar({ onArmAgain }: { onArmAgain(): void }) {
  const status = useApp((s) => s.station.status);
  const stop = useApp((s) => s.stopStation);
  const openStation = useApp((s) => s.openStation);
  const [asking, setAsking] = useState(false);
  const running = status.cards.filter((c) => c.state === 'flashing').length;
  const options = status.options;
  const limits = options
    ? `Up to ${options.maxCards} at a time · drives up to ${formatBytes(options.maxSizeBytes ?? LARGE_DRIVE_BYTES)}${options.slots.length > 0 ? ` · ${options.slots.length} ${options.slots.length === 1 ? 'slot' : 'slots'}` : ''}${options.readback ? ` · ${options.retries} retries` : ' · not read back'}`
    : '';
  const name = status.image?.name ?? '';
  return (
    <div className={`station-bar state-${status.state}`}>
      <div className="station-bar-text">
        <p className="station-state" data-testid="station-state">
          {stateLine(status, running)}
        </p>
        <div className="station-armed-with">
          <TruncatedText className="station-bar-image" text={name} keepEnd={fileNameTail(name)} />
          <span className="station-limits">{limits}</span>
        </div>
      </div>
      <div className="station-bar-actions">
        {status.state === 'armed' && (
          <button type="button" className="danger step-button" onClick={() => void stop(false)}>
            Stop station
          </button>
        )}
        {status.state === 'stopping' && (
          <button type="button" className="danger step-button" onClick={() => setAsking(true)}>
            Cancel running cards
          </button>
        )}
        {asking && status.state === 'stopping' && (
          <CancelDialog
            device={null}
            several={running > 1}
            onClose={() => setAsking(false)}
            onConfirm={() => {
              setAsking(false);
              void stop(true);
            }}
          />
        )}
        {status.state === 'stopped' && (
          <>
            <button type="button" onClick={() => openStation(false)}>
              Leave station mode
            </button>
            <button type="button" className="primary" onClick={onArmAgain}>
              Arm again
            </button>
          </>
        )}
      </div>
    </div>
  );
}

function Untouched() {
  const untouched = useApp((s) => s.station.status.untouched);
  const refused = useApp((s) => s.station.refused);
  const showCards = useApp((s) => s.showHistoryCards);
  const [open, setOpen] = useState(false);
  return (
    <div className="station-notes">
      <p className="untouched-line">
        <span data-testid="station-untouched">
          {untouched.length === 0 ? 'No drive was present when the station was armed' : `Never touched: ${untouched.length} ${untouched.length === 1 ? 'drive' : 'drives'} present when armed`}
        </span>
        {untouched.length > 0 && (
          <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Hide' : 'Show'}
          </button>
        )}
        <button type="button" className="link" onClick={() => void showCards()}>
          Card history
        </button>
      </p>
      {open && untouched.length > 0 && (
        <ul className="untouched-list" aria-label="Drives never touched">
          {untouched.map((r) => (
            <li key={r.device}>{refusalLine(r)}</li>
          ))}
        </ul>
      )}
      {refused.length > 0 && (
        <ul className="refused-list" aria-label="Drives not taken">
          {refused.map((r) => (
            <li key={r.device}>
              Not taken: {refusalLine(r)}: {guiText(r.message)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Summary() {
  const summary = useApp((s) => s.station.status.summary);
  if (!summary) return null;
  // "All 2 cards verified" says it all unless some need watching or retiring.
  const counts = summaryCounts(summary).filter((c) => !(summary.allVerified && c.endsWith(' verified')));
  const good = summary.allVerified;
  return (
    <div className={`station-summary ${good ? 'summary-good' : summary.taken === 0 ? 'summary-none' : 'summary-bad'}`}>
      <p className="station-summary-head" role="status" data-testid="station-summary">
        {summaryHeadline(summary)}
      </p>
      {counts.length > 0 && <p className="station-summary-counts">{counts.join(' · ')}</p>}
    </div>
  );
}

function StationRun({ onArmAgain }: { onArmAgain(): void }) {
  const status = useApp((s) => s.station.status);
  const warnings = useApp((s) => s.station.warnings);
  const error = useApp((s) => s.stationError);
  return (
    <section className="station-run" aria-label="Station">
      <StationBar onArmAgain={onArmAgain} />
      {status.state === 'stopped' && <Summary />}
      <Untouched />
      {(error || warnings.length > 0) && (
        <div className="error" role="alert">
          {error && <p>{guiText(error.message)}</p>}
          {warnings.map((w) => (
            <p key={w}>{guiText(w)}</p>
          ))}
        </div>
      )}
      <StationTiles />
    </section>
  );
}

export function StationScreen() {
  const status = useApp((s) => s.station.status);
  const [setup, setSetup] = useState(false);
  const showRun = isStationRunning(status) || (status.state === 'stopped' && !setup);
  // A new session (armed from the form) ends the form: its summary is shown once it stops.
  const running = isStationRunning(status);
  useEffect(() => {
    if (running) setSetup(false);
  }, [running]);
  return <div className="station-screen">{showRun ? <StationRun onArmAgain={() => setSetup(true)} /> : <StationSetup />}</div>;
}
