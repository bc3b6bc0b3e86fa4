import { useEffect, useImperativeHandle, useRef, useState, type Ref } from 'react';
import { api, ApiError } from '../shell/api-client';
import type { StoredCommand } from '../shell/api-types';
import { translateValue, useI18n } from '../shell/i18n';
import { useSession } from '../shell/session';
import { formatDateTime } from '../shell/time';
import { ConfirmDialog } from './Dialog';
import { errorDetail, errorText } from './errors';

export type DoorAction = 'open' | 'close';

export interface DoorCommandHandle {
  /** asks for confirmation of the action, as the buttons do (keyboard shortcut) */
  request: (action: DoorAction) => void;
}

/** How often a command still on its way is looked up again, and for how long past its expiry. */
const POLL_MS = 1500;
const POLL_GRACE_MS = 5000;

type Outcome = { kind: 'command'; command: StoredCommand } | { kind: 'error'; error: unknown };

/**
 * Remote open / lock of one door: confirmation first, then the gateway's own answer — done, refused
 * (with its reason), or still on its way (looked up until it answers or the command expires).
 */
export function DoorCommand(props: {
  site: string;
  device: string;
  door: string | null;
  label: string;
  ref?: Ref<DoorCommandHandle>;
  compact?: boolean;
}) {
  const { t } = useI18n();
  const session = useSession();
  const allowed = session.can('doors.command');
  const [pending, setPending] = useState<DoorAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const pollTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const mounted = useRef(true);

  useImperativeHandle(props.ref, () => ({ request: (action) => allowed && setPending(action) }), [allowed]);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      if (pollTimer.current) clearTimeout(pollTimer.current);
    };
  }, []);

  // a different door: forget the previous door's answer
  useEffect(() => {
    setOutcome(null);
    setPending(null);
  }, [props.site, props.device, props.door]);

  const poll = (command: StoredCommand) => {
    if (command.status !== 'sent' || Date.now() > command.expiresAt + POLL_GRACE_MS) return;
    pollTimer.current = setTimeout(async () => {
      try {
        const next = await api.get<StoredCommand>(`/commands/${encodeURIComponent(command.id)}`);
        if (!mounted.current) return;
        setOutcome({ kind: 'command', command: next });
        poll(next);
      } catch {
        if (mounted.current) poll(command);
      }
    }, POLL_MS);
  };

  const send = async (action: DoorAction) => {
    setBusy(true);
    if (pollTimer.current) clearTimeout(pollTimer.current);
    try {
      const { body } = await api.request<StoredCommand>('POST', `/sites/${encodeURIComponent(props.site)}/doors/${encodeURIComponent(props.device)}/commands`, {
        body: { action, ...(props.door ? { door: props.door } : {}), waitMs: 5000 },
      });
      if (!mounted.current) return;
      setOutcome({ kind: 'command', command: body });
      poll(body);
    } catch (error) {
      if (mounted.current) setOutcome({ kind: 'error', error });
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  if (!allowed) {
    return <p className="role-note">{t('door.roleNote')}</p>;
  }

  return (
    <div className={`door-command ${props.compact ? 'compact' : ''}`}>
      <div className="button-row">
        <button type="button" className="button warn" data-testid="door-open" disabled={busy} onClick={() => setPending('open')}>
          {t('door.open')}
        </button>
        <button type="button" className="button" data-testid="door-close" disabled={busy} onClick={() => setPending('close')}>
          {t('door.close')}
        </button>
      </div>
      {busy ? <p className="command-result pending">{t('door.sending')}</p> : null}
      {!busy && outcome ? <CommandOutcome outcome={outcome} timeZone={session.timeZoneOf(props.site)} /> : null}
      {pending ? (
        <ConfirmDialog
          title={pending === 'open' ? t('door.confirmOpenTitle') : t('door.confirmCloseTitle')}
          message={
            <>
              <p>{t(pending === 'open' ? 'door.confirmOpen' : 'door.confirmClose', { door: props.label, site: session.siteName(props.site) })}</p>
              <p className="muted">{t('door.confirmAudit')}</p>
            </>
          }
          confirmLabel={pending === 'open' ? t('door.open') : t('door.close')}
          danger={pending === 'open'}
          busy={busy}
          onConfirm={() => {
            setPending(null);
            void send(pending);
          }}
          onCancel={() => setPending(null)}
        />
      ) : null}
    </div>
  );
}

function CommandOutcome({ outcome, timeZone }: { outcome: Outcome; timeZone: string }) {
  const { t } = useI18n();
  if (outcome.kind === 'error') {
    const refused = outcome.error instanceof ApiError && outcome.error.status >= 400 && outcome.error.status < 500;
    const detail = errorDetail(outcome.error);
    return (
      <div className={`command-result ${refused ? 'refused' : 'failed'}`} data-testid="command-result" data-status="error" role="status">
        <strong>{errorText(t, outcome.error)}</strong>
        {detail ? <span className="error-detail">{detail}</span> : null}
      </div>
    );
  }
  const c = outcome.command;
  const tone = c.status === 'ok' ? 'ok' : c.status === 'sent' ? 'pending' : 'refused';
  return (
    <div className={`command-result ${tone}`} data-testid="command-result" data-status={c.status} role="status">
      <strong>{translateValue(t, 'commandStatus', c.status)}</strong>
      {c.detail ? <span className="command-detail">{c.detail}</span> : null}
      <span className="muted small">
        {t('door.issuedBy', { user: c.issuedBy, at: formatDateTime(c.issuedAt, timeZone) })}
        {c.resultAt ? ` · ${t('door.answeredAt', { at: formatDateTime(c.resultAt, timeZone) })}` : ''}
      </span>
    </div>
  );
}
