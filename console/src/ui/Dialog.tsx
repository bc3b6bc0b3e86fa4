import { useEffect, useRef, type ReactNode } from 'react';
import { useI18n } from '../shell/i18n';

/**
 * A modal on the native <dialog>: the browser traps focus, Escape closes it, and the page behind is
 * inert — nothing to re-implement.
 */
export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  className?: string;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const { t } = useI18n();
  const { onClose } = props;
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={`dialog ${props.className ?? ''}`}
      data-testid={props.testId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        // a click on the backdrop lands on the dialog element itself
        if (e.target === ref.current) onClose();
      }}
    >
      <div className="dialog-body">
        <header className="dialog-head">
          <h2>{props.title}</h2>
          <button type="button" className="icon-button" onClick={onClose} aria-label={t('common.close')}>
            ×
          </button>
        </header>
        {props.children}
      </div>
    </dialog>
  );
}

export function ConfirmDialog(props: {
  title: string;
  message: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const yes = useRef<HTMLButtonElement>(null);
  const no = useRef<HTMLButtonElement>(null);
  // a dangerous action is not one stray Enter away
  useEffect(() => (props.danger ? no : yes).current?.focus(), [props.danger]);
  return (
    <Dialog title={props.title} onClose={props.onCancel} className="confirm">
      <div className="confirm-message">{props.message}</div>
      <div className="dialog-actions">
        <button ref={no} type="button" className="button" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
        <button
          ref={yes}
          type="button"
          className={`button ${props.danger ? 'danger' : 'primary'}`}
          data-testid="confirm-yes"
          disabled={props.busy}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** A picture shown as large as the screen allows. */
export function Lightbox(props: { src: string; caption?: string; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog title={props.caption ?? t('common.picture')} onClose={props.onClose} className="lightbox">
      <img src={props.src} alt={props.caption ?? t('common.picture')} />
    </Dialog>
  );
}
