/**
 * The target dialog: every drive main listed, with its verdict from the shared drive rules. Several can be
 * checked (one job writes them all); system drives stay hidden until "Show hidden"; disabled drives show
 * why and cannot be checked; "Select" confirms, with the total size of the choice.
 */
import { useMemo, useState } from 'react';
import { MAX_TARGETS } from '../../shared/api';
import { evaluateDrives } from '../../shared/drive-rules';
import { formatBytes } from '../../shared/format';
import { imageContext } from '../store/drive-context';
import { useApp } from '../store/store-context';
import { DriveRow } from './drive-row';
import { ModalDialog } from './modal-dialog';

export function DrivePicker({ onClose }: { onClose(): void }) {
  const drives = useApp((s) => s.drives);
  const image = useApp((s) => s.image);
  const current = useApp((s) => s.devices);
  const selectDevices = useApp((s) => s.selectDevices);
  const [showHidden, setShowHidden] = useState(current.some((d) => drives.find((x) => x.device === d)?.isSystem));
  const [choice, setChoice] = useState<string[]>(current);

  const all = useMemo(() => evaluateDrives(drives, imageContext(image, showHidden)), [drives, image, showHidden]);
  const visible = all.filter((entry) => entry.verdict.status !== 'hidden');
  const hiddenCount = all.length - visible.length;
  const chosen = visible.filter((entry) => choice.includes(entry.drive.device) && entry.verdict.status !== 'disabled');
  const total = chosen.reduce((sum, entry) => sum + (entry.drive.size ?? 0), 0);
  const tooMany = chosen.length > MAX_TARGETS;

  const toggle = (device: string, on: boolean): void => setChoice((list) => (on ? [...list.filter((d) => d !== device), device] : list.filter((d) => d !== device)));

  const confirm = (): void => {
    if (chosen.length === 0 || tooMany) return;
    selectDevices(chosen.map((entry) => entry.drive.device));
    onClose();
  };

  return (
    <ModalDialog title="Select target" onClose={onClose} className="picker">
      {visible.length === 0 ? (
        <p className="step-hint">No drives found. Insert a card or USB stick; the list updates by itself.</p>
      ) : (
        <ul className="drive-list" aria-label="Drives">
          {visible.map(({ drive, verdict }) => (
            <DriveRow key={drive.device} drive={drive} verdict={verdict} checked={choice.includes(drive.device)} onToggle={(on) => toggle(drive.device, on)} />
          ))}
        </ul>
      )}
      <label className="show-hidden">
        <input type="checkbox" checked={showHidden} onChange={(event) => setShowHidden(event.target.checked)} /> Show hidden
        {!showHidden && hiddenCount > 0 ? ` (${hiddenCount} system ${hiddenCount === 1 ? 'drive' : 'drives'})` : ''}
      </label>
      {showHidden && (
        <p className="note-warning" role="note">
          System drives hold your operating system and files. Flashing one erases them; Sureflash asks you to confirm before it does.
        </p>
      )}
      <div className="dialog-buttons">
        <p className="picker-total" aria-live="polite">
          {tooMany
            ? `At most ${MAX_TARGETS} drives at once.`
            : chosen.length === 0
              ? 'Nothing chosen'
              : `${chosen.length} ${chosen.length === 1 ? 'drive' : 'drives'}, ${formatBytes(total)} in all`}
        </p>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={confirm} disabled={chosen.length === 0 || tooMany}>
          Select
        </button>
      </div>
    </ModalDialog>
  );
}
