/**
 * The target dialog: every drive main listed, with its verdict from the shared drive rules. System drives
 * stay hidden until "Show hidden"; disabled drives show why and cannot be chosen; "Select" confirms.
 */
import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { evaluateDrives } from '../../shared/drive-rules';
import { imageContext } from '../store/drive-context';
import { useApp } from '../store/store-context';
import { DriveOption } from './drive-option';
import { ModalDialog } from './modal-dialog';

export function DrivePicker({ onClose }: { onClose(): void }) {
  const drives = useApp((s) => s.drives);
  const image = useApp((s) => s.image);
  const current = useApp((s) => s.device);
  const selectDevice = useApp((s) => s.selectDevice);
  const [showHidden, setShowHidden] = useState(false);
  const [choice, setChoice] = useState<string | null>(current);
  const [focusIndex, setFocusIndex] = useState(0);
  const listRef = useRef<HTMLDivElement>(null);

  const all = useMemo(() => evaluateDrives(drives, imageContext(image, showHidden)), [drives, image, showHidden]);
  const visible = all.filter((entry) => entry.verdict.status !== 'hidden');
  const hiddenCount = all.length - visible.length;
  const chosen = visible.find((entry) => entry.drive.device === choice && entry.verdict.status !== 'disabled');

  const moveFocus = (index: number): void => {
    const next = Math.max(0, Math.min(visible.length - 1, index));
    setFocusIndex(next);
    listRef.current?.querySelectorAll<HTMLElement>('[role="option"]')[next]?.focus();
  };

  const onOptionKey = (index: number, device: string, disabled: boolean) => (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'ArrowDown') moveFocus(index + 1);
    else if (event.key === 'ArrowUp') moveFocus(index - 1);
    else if (event.key === 'Home') moveFocus(0);
    else if (event.key === 'End') moveFocus(visible.length - 1);
    else if ((event.key === ' ' || event.key === 'Enter') && !disabled) setChoice(device);
    else return;
    event.preventDefault();
  };

  const confirm = (): void => {
    if (!chosen) return;
    selectDevice(chosen.drive.device);
    onClose();
  };

  return (
    <ModalDialog title="Select target" onClose={onClose}>
      {visible.length === 0 ? (
        <p className="hint">No drives found. Insert a card or USB stick; the list updates by itself.</p>
      ) : (
        <div ref={listRef} role="listbox" aria-label="Drives" className="drive-list">
          {visible.map(({ drive, verdict }, index) => (
            <DriveOption
              key={drive.device}
              drive={drive}
              verdict={verdict}
              selected={drive.device === choice}
              focusable={index === Math.min(focusIndex, visible.length - 1)}
              onChoose={() => setChoice(drive.device)}
              onKeyDown={onOptionKey(index, drive.device, verdict.status === 'disabled')}
            />
          ))}
        </div>
      )}
      <label className="show-hidden">
        <input type="checkbox" checked={showHidden} onChange={(event) => setShowHidden(event.target.checked)} /> Show hidden
        {!showHidden && hiddenCount > 0 ? ` (${hiddenCount} system ${hiddenCount === 1 ? 'drive' : 'drives'})` : ''}
      </label>
      {showHidden && (
        <p className="warning" role="note">
          System drives hold your operating system and files. Flashing one erases them; Sureflash asks you to confirm
          before it does.
        </p>
      )}
      <div className="dialog-buttons">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={confirm} disabled={!chosen}>
          Select
        </button>
      </div>
    </ModalDialog>
  );
}
