/**
 * Main's questions asked in the page (the browser host's "Erase …?" before a flash): the words come from
 * main, "Cancel" has the focus first, Esc and Cancel answer no. The Electron shell asks natively and never
 * sends one.
 */
import { CANCEL_LABEL } from '../../shared/erase-confirmation';
import { useApp } from '../store/store-context';
import { ModalDialog } from './modal-dialog';

export function ConfirmDialog() {
  const request = useApp((s) => s.confirmRequests[0] ?? null);
  const answer = useApp((s) => s.answerConfirm);
  if (request === null) return null;
  return (
    <ModalDialog key={request.id} title={request.title} onClose={() => void answer(false)} initialFocus="button.cancel">
      <p>{request.message}</p>
      <p className={request.danger ? 'warning' : 'hint'}>{request.detail}</p>
      <div className="dialog-buttons">
        <button type="button" className="cancel" onClick={() => void answer(false)}>
          {CANCEL_LABEL}
        </button>
        <button type="button" className={request.danger ? 'danger' : 'primary'} onClick={() => void answer(true)}>
          {request.confirmLabel}
        </button>
      </div>
    </ModalDialog>
  );
}
