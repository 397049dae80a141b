/**
 * A modal on the native <dialog>: showModal() makes the rest of the page inert, moves focus
 * into the dialog, and closes on Escape, all without a library. Focus returns to the element
 * that opened it, or to the page's main region when that element is gone.
 */
import { useEffect, useId, useRef, type ReactNode } from 'react';
import { FormAlert } from './fields';

/**
 * `focusAfter`, asked as the dialog closes: where focus goes instead of back to the opener (a
 * page region when the action removes the opener, say), or null for the opener.
 */
type FocusAfter = () => HTMLElement | null;

export function Dialog({ title, onClose, children, className, focusAfter }: { title: string; onClose: () => void; children: ReactNode; className?: string; focusAfter?: FocusAfter }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const close = useRef(onClose);
  close.current = onClose;
  const focusTarget = useRef(focusAfter);
  focusTarget.current = focusAfter;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    const onCancel = (event: Event) => {
      event.preventDefault();
      close.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      const target = focusTarget.current?.();
      // The opener may be gone, or disabled meanwhile (Generate at the key limit): then the
      // page's main region, not <body>.
      if (target) target.focus();
      else if (opener?.isConnected && !opener.matches(':disabled')) opener.focus();
      else document.getElementById('main')?.focus();
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} className={className}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/**
 * A confirmation: the warning, the API's error if the action failed, Cancel, and the action
 * (a submit, disabled while `busy`). For actions that take no input (deactivate, delete, rotate).
 */
export function ConfirmDialog(props: {
  title: string;
  formLabel: string;
  warning: string;
  confirmLabel: string;
  error: string | null;
  busy: boolean;
  onConfirm: () => void;
  onClose: () => void;
  focusAfter?: FocusAfter;
}) {
  const { title, formLabel, warning, confirmLabel, error, busy, onConfirm, onClose, focusAfter } = props;
  return (
    <Dialog title={title} onClose={onClose} focusAfter={focusAfter}>
      <form
        aria-label={formLabel}
        onSubmit={(event) => {
          event.preventDefault();
          onConfirm();
        }}
      >
        <p className="warning">{warning}</p>
        <FormAlert message={error} />
        <DangerActions confirmLabel={confirmLabel} busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** Cancel, and the submit button of a form whose action cannot be undone. */
export function DangerActions({ confirmLabel, busy, onCancel }: { confirmLabel: string; busy: boolean; onCancel: () => void }) {
  return (
    <div className="actions">
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className="danger" disabled={busy}>
        {confirmLabel}
      </button>
    </div>
  );
}
