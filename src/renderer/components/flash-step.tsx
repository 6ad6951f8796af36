/**
 * Step 3: read-back options and the Flash button. Drives that need explicit consent (large, system) open
 * a confirmation first; the confirmed warning codes travel in FlashRequest.acknowledged.
 */
import { useState } from 'react';
import { evaluateDrives, pendingAcknowledgements, type DriveReason } from '../../shared/drive-rules';
import { nextStep } from '../../shared/errors';
import { MAX_RETRIES, MIN_RETRIES } from '../../shared/retry-limit';
import { imageContext } from '../store/drive-context';
import { useApp } from '../store/store-context';
import { ModalDialog } from './modal-dialog';

function ConfirmDrive({ device, reasons, onConfirm, onClose }: { device: string; reasons: DriveReason[]; onConfirm(): void; onClose(): void }) {
  return (
    <ModalDialog title={`Flash ${device}?`} onClose={onClose} initialFocus="button.cancel">
      <ul className="warnings">
        {reasons.map((reason) => (
          <li key={reason.code}>{reason.message}</li>
        ))}
      </ul>
      <p>Everything on {device} will be erased.</p>
      <div className="dialog-buttons">
        <button type="button" className="cancel" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          Yes, flash {device}
        </button>
      </div>
    </ModalDialog>
  );
}

export function FlashStep() {
  const image = useApp((s) => s.image);
  const drives = useApp((s) => s.drives);
  const device = useApp((s) => s.device);
  const settings = useApp((s) => s.settings);
  const flashError = useApp((s) => s.flashError);
  const setReadback = useApp((s) => s.setReadback);
  const setRetries = useApp((s) => s.setRetries);
  const flash = useApp((s) => s.flash);
  const [confirming, setConfirming] = useState<DriveReason[] | null>(null);

  const entry = evaluateDrives(drives, imageContext(image, true)).find((e) => e.drive.device === device);
  const ready = image !== null && entry !== undefined && entry.verdict.status !== 'disabled';

  const start = (): void => {
    if (!entry) return;
    const pending = pendingAcknowledgements(entry.verdict, []);
    if (pending.length > 0) setConfirming(entry.verdict.reasons.filter((r) => pending.includes(r.code)));
    else void flash([]);
  };

  return (
    <section className="step" aria-labelledby="step-flash">
      <h2 id="step-flash">
        <span className="step-number">3</span> Flash
      </h2>
      <label className="option">
        <input type="checkbox" checked={settings.readback} onChange={(event) => void setReadback(event.target.checked)} /> Read back
        and verify
      </label>
      <label className="option">
        Checksum retries{' '}
        <input
          type="number"
          min={MIN_RETRIES}
          max={MAX_RETRIES}
          step={1}
          value={settings.retries}
          disabled={!settings.readback}
          onChange={(event) => {
            const value = Number(event.target.value);
            if (event.target.value !== '' && Number.isFinite(value)) void setRetries(value);
          }}
        />
      </label>
      <button type="button" className="primary flash-button" disabled={!ready} onClick={start}>
        Flash!
      </button>
      {flashError && (
        <div className="error" role="alert">
          <p>{flashError.message}</p>
          <p>{nextStep(flashError.code)}</p>
        </div>
      )}
      {confirming && entry && (
        <ConfirmDrive
          device={entry.drive.device}
          reasons={confirming}
          onClose={() => setConfirming(null)}
          onConfirm={() => {
            const codes = confirming.map((r) => r.code);
            setConfirming(null);
            void flash(codes);
          }}
        />
      )}
    </section>
  );
}
