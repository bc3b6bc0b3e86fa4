import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../shell/api-client';
import type { ApiToken, Role } from '../../shell/api-types';
import { useI18n } from '../../shell/i18n';
import { useSession } from '../../shell/session';
import { formatDateTime } from '../../shell/time';
import { ConfirmDialog, Dialog } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';
import { RoleChips, RolesField, SitesField, SitesText } from './access-fields';

type Created = ApiToken & { token: string };

/** The longest a token may live. */
const MAX_DAYS = 366;

/** API tokens (Grafana, scripts, integrations): created with a subset of their owner's rights, revocable. */
export function TokensPanel() {
  const { t } = useI18n();
  const session = useSession();
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [revokeError, setRevokeError] = useState<unknown>(null);
  const tz = session.timeZone;

  const load = useCallback(async () => {
    try {
      // admins see everybody's tokens
      const r = await api.get<{ tokens: ApiToken[] }>('/tokens', { all: session.user.roles.includes('admin') ? 'true' : undefined });
      setTokens(r.tokens.sort((a, b) => b.createdAt - a.createdAt));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [session.user.roles]);

  useEffect(() => void load(), [load]);

  const revoke = async (token: ApiToken) => {
    setRevokeError(null);
    try {
      await api.delete(`/tokens/${encodeURIComponent(token.id)}`);
      setRevoking(null);
      void load();
    } catch (err) {
      setRevokeError(err);
    }
  };

  const now = Date.now();
  return (
    <section>
      <div className="results-head">
        <span className="muted">{t('tokens.intro')}</span>
        <span className="toolbar-spacer" />
        <button type="button" className="button primary" data-testid="token-new" onClick={() => setCreating(true)}>
          {t('tokens.create')}
        </button>
      </div>
      <ErrorNote error={error} />
      {!tokens && !error ? <p className="muted">{t('common.loading')}</p> : null}
      {tokens && tokens.length === 0 ? <p className="muted">{t('tokens.none')}</p> : null}
      {tokens && tokens.length > 0 ? (
        <table className="table responsive tokens-table">
          <thead>
            <tr>
              <th>{t('tokens.name')}</th>
              <th>{t('tokens.owner')}</th>
              <th>{t('users.roles')}</th>
              <th>{t('users.sites')}</th>
              <th>{t('tokens.expires')}</th>
              <th>{t('tokens.lastUsed')}</th>
              <th>{t('users.status')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.map((tok) => {
              const status = tok.revokedAt ? 'revoked' : tok.expiresAt !== null && tok.expiresAt < now ? 'expired' : 'active';
              return (
                <tr key={tok.id} data-testid="token-row" data-token-id={tok.id} data-status={status}>
                  <td data-label={t('tokens.name')}>
                    <strong>{tok.name}</strong>
                    <span className="muted small"> · {formatDateTime(tok.createdAt, tz)}</span>
                  </td>
                  <td data-label={t('tokens.owner')}>{tok.username}</td>
                  <td data-label={t('users.roles')}>
                    <RoleChips roles={tok.roles} />
                  </td>
                  <td data-label={t('users.sites')}>
                    <SitesText sites={tok.sites} />
                  </td>
                  <td data-label={t('tokens.expires')} className="nowrap">
                    {tok.expiresAt ? formatDateTime(tok.expiresAt, tz) : t('tokens.never')}
                  </td>
                  <td data-label={t('tokens.lastUsed')} className="nowrap">
                    {formatDateTime(tok.lastUsedAt, tz)}
                  </td>
                  <td data-label={t('users.status')}>
                    <span className={`chip ${status === 'active' ? 'ok' : 'bad'}`}>{t(`tokens.status.${status}`)}</span>
                  </td>
                  <td className="row-actions">
                    {status === 'active' ? (
                      <button type="button" className="button small danger" data-testid="token-revoke" onClick={() => setRevoking(tok)}>
                        {t('tokens.revoke')}
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {creating ? (
        <TokenDialog
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            void load();
          }}
        />
      ) : null}
      {created ? <CreatedToken token={created} onClose={() => setCreated(null)} /> : null}
      {revoking ? (
        <ConfirmDialog
          title={t('tokens.revokeTitle')}
          message={
            <>
              <p>{t('tokens.revokeConfirm', { name: revoking.name, user: revoking.username })}</p>
              <ErrorNote error={revokeError} />
            </>
          }
          confirmLabel={t('tokens.revoke')}
          danger
          onConfirm={() => void revoke(revoking)}
          onCancel={() => {
            setRevoking(null);
            setRevokeError(null);
          }}
        />
      ) : null}
    </section>
  );
}

function TokenDialog(props: { onClose: () => void; onCreated: (c: Created) => void }) {
  const { t } = useI18n();
  const session = useSession();
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<Role[]>([]);
  const [sites, setSites] = useState<string[] | '*'>(session.user.sites === '*' ? '*' : [...session.user.sites]);
  const [days, setDays] = useState(90);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<'name' | 'roles' | 'days' | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setProblem('name');
    if (roles.length === 0) return setProblem('roles');
    if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) return setProblem('days');
    setProblem(null);
    setBusy(true);
    setError(null);
    try {
      props.onCreated(await api.post<Created>('/tokens', { name: name.trim(), roles, sites, expiresInDays: days }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={t('tokens.create')} onClose={props.onClose} className="wide" testId="token-dialog">
      <form className="form" onSubmit={submit} noValidate>
        <div className="form-grid">
          <label className="field">
            <span>{t('tokens.name')}</span>
            <input type="text" value={name} maxLength={128} placeholder={t('tokens.namePlaceholder')} data-testid="token-name" aria-invalid={problem === 'name'} onChange={(e) => setName(e.target.value)} />
            {problem === 'name' ? <span className="field-error">{t('tokens.problem.name')}</span> : null}
          </label>
          <label className="field">
            <span>{t('tokens.expiresInDays')}</span>
            <input type="number" min={1} max={MAX_DAYS} value={days} data-testid="token-days" aria-invalid={problem === 'days'} onChange={(e) => setDays(Number(e.target.value))} />
            {problem === 'days' ? <span className="field-error">{t('tokens.problem.days', { max: MAX_DAYS })}</span> : null}
          </label>
        </div>
        <div className="form-grid two">
          <div>
            <RolesField value={roles} onChange={setRoles} allowed={session.user.roles} testId="token-roles" />
            {problem === 'roles' ? <span className="field-error">{t('users.problem.roles')}</span> : null}
          </div>
          <SitesField value={sites} onChange={setSites} testId="token-sites" />
        </div>
        <p className="muted small">{t('tokens.subsetNote')}</p>
        <ErrorNote error={error} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="button primary" disabled={busy} data-testid="token-save">
            {busy ? t('common.working') : t('tokens.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The token's secret, shown this once: the server keeps only its hash. */
function CreatedToken({ token, onClose }: { token: Created; onClose: () => void }) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    input.current?.select();
    try {
      await navigator.clipboard.writeText(token.token);
      setCopied(true);
    } catch {
      // no clipboard access (plain http): the text is selected for ctrl+C
      setCopied(document.execCommand?.('copy') ?? false);
    }
  };
  return (
    <Dialog title={t('tokens.createdTitle', { name: token.name })} onClose={onClose} testId="token-created">
      <p className="notice">{t('tokens.showOnce')}</p>
      <div className="token-secret">
        <input ref={input} type="text" readOnly value={token.token} data-testid="token-secret" onFocus={(e) => e.target.select()} className="mono" />
        <button type="button" className="button primary" onClick={() => void copy()}>
          {copied ? t('tokens.copied') : t('tokens.copy')}
        </button>
      </div>
      <p className="muted small">{t('tokens.usage')}</p>
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose}>
          {t('common.done')}
        </button>
      </div>
    </Dialog>
  );
}
