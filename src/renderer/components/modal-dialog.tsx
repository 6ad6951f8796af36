/**
 * A modal dialog: role="dialog", labelled by its title, focus moved inside on open and kept there (Tab
 * wraps), Esc closes, focus returns to what had it before.
 */
import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { createPortal } from 'react-dom';

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"]), select:not([disabled]), a[href]';

interface ModalDialogProps {
  title: string;
  onClose(): void;
  children: ReactNode;
  /** Which element takes focus on open (default: the first focusable one). */
  initialFocus?: string;
  className?: string;
  /** 'alert' for questions that stop something (erase, cancel): read out at once. */
  role?: 'dialog' | 'alertdialog';
}

export function ModalDialog({ title, onClose, children, initialFocus, className, role = 'dialog' }: ModalDialogProps) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();

  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const root = ref.current;
    const first = root?.querySelector<HTMLElement>(initialFocus ?? FOCUSABLE) ?? root?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? root)?.focus();
    return () => previous?.focus();
    // Focus once, on open only.
  }, []);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      onClose();
      return;
    }
    if (event.key !== 'Tab' || !ref.current) return;
    const items = Array.from(ref.current.querySelectorAll<HTMLElement>(FOCUSABLE));
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  };

  // In document.body: a dialog opened from inside a step must not inherit its layout or its drop zone.
  return createPortal(
    <div className="backdrop">
      <div
        ref={ref}
        className={`dialog${className ? ` ${className}` : ''}`}
        role={role}
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <h2 id={titleId} className="dialog-title">
          {title}
        </h2>
        {children}
      </div>
    </div>,
    document.body,
  );
}
