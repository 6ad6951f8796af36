/**
 * Step 2: the target cards, chosen in the picker (one or several); shows their names and sizes in large
 * type, why one was chosen automatically, and what to know before flashing (unmounting, warnings).
 */
import { useState } from 'react';
import { formatBytes } from '../../shared/format';
import { driveBus, driveName } from '../model/drive-display';
import { chosenTargets, targetNotes } from '../model/target-facts';
import { AUTO_SELECT_REASON } from '../store/auto-select';
import { jobCards } from '../store/job-state';
import { useApp } from '../store/store-context';
import { DrivePicker } from './drive-picker';
import { StepCard } from './step-card';
import { TruncatedText } from './truncated-text';

interface Shown {
  device: string;
  name: string;
  size: number | null;
  bus: string;
}

export function TargetStep({ locked = false }: { locked?: boolean }) {
  const drives = useApp((s) => s.drives);
  const devices = useApp((s) => s.devices);
  const image = useApp((s) => s.image);
  const autoSelected = useApp((s) => s.autoSelected);
  const drivesError = useApp((s) => s.drivesError);
  const job = useApp((s) => s.job);
  const [open, setOpen] = useState(false);
  const chosen = chosenTargets(drives, devices, image);
  const notes = locked ? [] : targetNotes(chosen);
  // While flashing, the job's cards are shown even when one was pulled out.
  const targets: Shown[] = locked
    ? jobCards(job).map((card) => {
        const drive = drives.find((d) => d.device === card.device);
        return { device: card.device, name: drive ? driveName(drive) : card.target.description, size: card.target.size, bus: drive ? driveBus(drive) : '' };
      })
    : chosen.map((t) => ({ device: t.drive.device, name: t.name, size: t.drive.size, bus: driveBus(t.drive) }));
  const total = targets.reduce((sum, t) => sum + (t.size ?? 0), 0);
  const first = targets[0];

  return (
    <StepCard
      id="step-target"
      number={2}
      title="Target"
      icon={targets.length > 1 ? 'drives' : 'drive'}
      state={locked ? 'idle' : targets.length > 0 ? 'done' : 'todo'}
      testId="target-step"
    >
      <div className="step-body" aria-label="Chosen target" role="group">
        {targets.length === 0 && <p className="step-hint">{drives.length === 0 ? 'Insert a card or USB stick' : 'Choose the card or stick to write'}</p>}
        {targets.length === 1 && first && (
          <>
            <TruncatedText className={`step-name${first.name.length > 24 ? ' is-long' : ''}`} text={first.name} testId="target-name" />
            <p className="step-sub">
              {formatBytes(first.size)} · {first.device}
            </p>
            {first.bus && <p className="step-sub">{first.bus}</p>}
          </>
        )}
        {targets.length > 1 && (
          <>
            <p className="step-name">{targets.length} cards</p>
            <p className="step-sub">{formatBytes(total)} in all</p>
            <TruncatedText className="step-sub" text={targets.map((t) => t.device).join(', ')} testId="target-devices" />
          </>
        )}
        {autoSelected !== null && !locked && <p className="note-info auto-note">{AUTO_SELECT_REASON}</p>}
        {notes.length > 0 && (
          <ul className="notes" aria-label="Before flashing">
            {notes.map((note) => (
              <li key={note.text} className={`note-${note.tone}`}>
                {note.text}
              </li>
            ))}
          </ul>
        )}
      </div>
      {!locked && (
        <div className="step-actions">
          <button type="button" className={image !== null && targets.length === 0 ? 'step-button primary' : 'step-button'} onClick={() => setOpen(true)}>
            {targets.length > 0 ? 'Change target' : 'Select target'}
          </button>
        </div>
      )}
      {drivesError && (
        <p className="error" role="alert">
          {drivesError}
        </p>
      )}
      {open && <DrivePicker onClose={() => setOpen(false)} />}
    </StepCard>
  );
}
