/** Step 2: the target drive, chosen in the picker dialog; shows the choice and any reason it cannot be used. */
import { useState } from 'react';
import { evaluateDrives } from '../../shared/drive-rules';
import { formatBytes } from '../../shared/format';
import { imageContext } from '../store/drive-context';
import { useApp } from '../store/store-context';
import { DrivePicker } from './drive-picker';

export function TargetStep() {
  const drives = useApp((s) => s.drives);
  const device = useApp((s) => s.device);
  const image = useApp((s) => s.image);
  const drivesError = useApp((s) => s.drivesError);
  const [open, setOpen] = useState(false);
  const entry = evaluateDrives(drives, imageContext(image, true)).find((e) => e.drive.device === device);

  return (
    <section className="step" aria-labelledby="step-target">
      <h2 id="step-target">
        <span className="step-number">2</span> Target
      </h2>
      {entry ? (
        <div className="details" aria-label="Chosen target">
          <p className="chosen-name">{entry.drive.description || 'Unnamed drive'}</p>
          <p>
            {entry.drive.device}, {formatBytes(entry.drive.size)}
          </p>
          {entry.verdict.reasons.map((reason) => (
            <p key={reason.code} className={reason.severity === 'error' ? 'error' : 'warning'}>
              {reason.message}
            </p>
          ))}
        </div>
      ) : (
        <p className="hint">Choose the card or stick to write.</p>
      )}
      <button type="button" onClick={() => setOpen(true)}>
        {entry ? 'Change target' : 'Select target'}
      </button>
      {drivesError && (
        <p className="error" role="alert">
          {drivesError}
        </p>
      )}
      {open && <DrivePicker onClose={() => setOpen(false)} />}
    </section>
  );
}
