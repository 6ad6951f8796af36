/**
 * The questions the renderer asks itself: before a flash that needs an explicit yes (a large or system
 * drive, a file that does not look like a disk image), and before stopping a flash that is writing.
 * Main still asks its own "Erase …?" question; these never stand in for it.
 */
import { ModalDialog } from './modal-dialog';

export interface PreflightItem {
  key: string;
  text: string;
}

interface PreflightProps {
  mode: 'copy' | 'verify';
  /** "/dev/sdb" or "3 cards". */
  what: string;
  items: PreflightItem[];
  erased: string[];
  onConfirm(): void;
  onClose(): void;
}

export function PreflightDialog({ mode, what, items, erased, onConfirm, onClose }: PreflightProps) {
  const verb = mode === 'copy' ? 'Flash' : 'Verify';
  return (
    <ModalDialog title={`${verb} ${what}?`} onClose={onClose} initialFocus="button.cancel" role="alertdialog" className="confirm">
      <ul className="notes">
        {items.map((item) => (
          <li key={item.key} className="note-warning">
            {item.text}
          </li>
        ))}
      </ul>
      <p>{mode === 'copy' ? `Everything on ${erased.join(', ')} will be erased.` : 'Nothing is written: the cards are only read and compared with the image.'}</p>
      <div className="dialog-buttons">
        <button type="button" className="cancel" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className={mode === 'copy' ? 'danger' : 'primary'} onClick={onConfirm}>
          Yes, {verb.toLowerCase()} {what}
        </button>
      </div>
    </ModalDialog>
  );
}

interface CancelProps {
  /** The one card to stop, or null for the whole job. */
  device: string | null;
  several: boolean;
  onConfirm(): void;
  onClose(): void;
}

export function CancelDialog({ device, several, onConfirm, onClose }: CancelProps) {
  const title = device ? `Stop flashing ${device}?` : several ? 'Stop flashing every card?' : 'Stop flashing?';
  return (
    <ModalDialog title={title} onClose={onClose} initialFocus="button.cancel" role="alertdialog" className="confirm">
      <p>
        {device && several ? 'The other cards go on. ' : ''}A card stopped mid-way holds part of an image: it must not be used until it is flashed again.
      </p>
      <div className="dialog-buttons">
        <button type="button" className="cancel" onClick={onClose}>
          Keep flashing
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          Stop
        </button>
      </div>
    </ModalDialog>
  );
}
