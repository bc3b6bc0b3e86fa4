import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { MIN_PASSWORD, USERNAME_PATTERN } from '../../shell/account-rules';
import { api } from '../../shell/api-client';
import type { ManagedUser, Role } from '../../shell/api-types';
import { useI18n } from '../../shell/i18n';
import type { PageProps } from '../../shell/page-types';
import { Link, pathOf } from '../../shell/router';
import { useSession } from '../../shell/session';
import { formatDateTime } from '../../shell/time';
import { Dialog } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';
import { RoleChips, RolesField, SitesField, SitesText } from './access-fields';
import { TokensPanel } from './TokensPanel';


/** Accounts (who may log in, with which roles, for which sites) and API tokens. */
export function UsersPage({ params }: PageProps) {
  const { t } = useI18n();
  const tab = params[0] === 'tokens' ? 'tokens' : 'users';
  return (
    <div className="users-page page">
      <div className="page-head">
        <h1>{t('users.title')}</h1>
      </div>
      <nav className="tabs" aria-label={t('users.title')}>
        <Link href={pathOf('users')} className={tab === 'users' ? 'active' : ''} data-testid="tab-users" aria-current={tab === 'users' ? 'page' : undefined}>
          {t('users.accounts')}
        </Link>
        <Link href={pathOf('users', 'tokens')} className={tab === 'tokens' ? 'active' : ''} data-testid="tab-tokens" aria-current={tab === 'tokens' ? 'page' : undefined}>
          {t('tokens.title')}
        </Link>
      </nav>
      {tab === 'users' ? <UsersPanel /> : <TokensPanel />}
    </div>
  );
}

function UsersPanel() {
  const { t } = useI18n();
  const session = useSession();
  const [users, setUsers] = useState<ManagedUser[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<ManagedUser | 'new' | null>(null);
  const tz = session.timeZone;

  const load = useCallback(async () => {
    try {
      const r = await api.get<{ users: ManagedUser[] }>('/users');
      setUsers(r.users.sort((a, b) => a.username.localeCompare(b.username)));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);

  useEffect(() => void load(), [load]);

  const saved = (user: ManagedUser) => {
    setUsers((list) => {
      const others = (list ?? []).filter((u) => u.username !== user.username);
      return [...others, user].sort((a, b) => a.username.localeCompare(b.username));
    });
    setEditing(null);
  };

  const now = Date.now();
  return (
    <section>
      <div className="results-head">
        <span className="muted">{users ? t('users.count', { count: users.length }) : ''}</span>
        <span className="toolbar-spacer" />
        <button type="button" className="button primary" data-testid="user-new" onClick={() => setEditing('new')}>
          {t('users.create')}
        </button>
      </div>
      <ErrorNote error={error} />
      {!users && !error ? <p className="muted">{t('common.loading')}</p> : null}
      {users ? (
        <table className="table responsive users-table">
          <thead>
            <tr>
              <th>{t('users.username')}</th>
              <th>{t('users.roles')}</th>
              <th>{t('users.sites')}</th>
              <th>{t('users.status')}</th>
              <th>{t('users.lastLogin')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => {
              const locked = u.lockedUntil !== null && u.lockedUntil > now;
              return (
                <tr key={u.username} data-testid="user-row" data-username={u.username}>
                  <td data-label={t('users.username')}>
                    <strong>{u.username}</strong>
                    {u.displayName ? <span className="muted"> · {u.displayName}</span> : null}
                  </td>
                  <td data-label={t('users.roles')}>
                    <RoleChips roles={u.roles} />
                  </td>
                  <td data-label={t('users.sites')}>
                    <SitesText sites={u.sites} />
                  </td>
                  <td data-label={t('users.status')}>
                    {u.disabled ? <span className="chip bad">{t('users.disabled')}</span> : null}
                    {locked ? <span className="chip warn">{t('users.lockedUntil', { at: formatDateTime(u.lockedUntil, tz) })}</span> : null}
                    {!u.disabled && !locked ? <span className="chip ok">{t('users.active')}</span> : null}
                  </td>
                  <td data-label={t('users.lastLogin')} className="nowrap">
                    {formatDateTime(u.lastLoginAt, tz)}
                  </td>
                  <td className="row-actions">
                    <button type="button" className="button small" data-testid="user-edit" onClick={() => setEditing(u)}>
                      {t('common.edit')}
                    </button>
                    {locked ? <UnlockButton user={u} onDone={saved} /> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {editing ? <UserDialog user={editing === 'new' ? null : editing} onClose={() => setEditing(null)} onSaved={saved} /> : null}
    </section>
  );
}

function UnlockButton({ user, onDone }: { user: ManagedUser; onDone: (u: ManagedUser) => void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        className="button small"
        data-testid="user-unlock"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            onDone(await api.post<ManagedUser>(`/users/${encodeURIComponent(user.username)}/unlock`));
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        {t('users.unlock')}
      </button>
      <ErrorNote error={error} />
    </>
  );
}

/** Create a user, or change one: roles, sites, disabled, a new password. */
function UserDialog(props: { user: ManagedUser | null; onClose: () => void; onSaved: (u: ManagedUser) => void }) {
  const { t } = useI18n();
  const existing = props.user;
  const [username, setUsername] = useState(existing?.username ?? '');
  const [displayName, setDisplayName] = useState(existing?.displayName ?? '');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<Role[]>(existing?.roles ?? ['guard']);
  const [sites, setSites] = useState<string[] | '*'>(existing?.sites ?? []);
  const [disabled, setDisabled] = useState(existing?.disabled ?? false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [problem, setProblem] = useState<'username' | 'password' | 'roles' | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!existing && !USERNAME_PATTERN.test(username)) return setProblem('username');
    if ((!existing || password) && password.length < MIN_PASSWORD) return setProblem('password');
    if (roles.length === 0) return setProblem('roles');
    setProblem(null);
    setBusy(true);
    setError(null);
    try {
      const user = existing
        ? await api.patch<ManagedUser>(`/users/${encodeURIComponent(existing.username)}`, {
            displayName: displayName.trim() || null,
            roles,
            sites,
            disabled,
            ...(password ? { password } : {}),
          })
        : await api.post<ManagedUser>('/users', { username, ...(displayName.trim() ? { displayName: displayName.trim() } : {}), password, roles, sites });
      props.onSaved(user);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={existing ? t('users.editTitle', { user: existing.username }) : t('users.create')} onClose={props.onClose} className="wide" testId="user-dialog">
      <form className="form" onSubmit={submit} noValidate>
        <div className="form-grid">
          <label className="field">
            <span>{t('users.username')}</span>
            <input
              type="text"
              value={username}
              disabled={existing !== null}
              autoCapitalize="off"
              autoComplete="off"
              data-testid="user-username"
              aria-invalid={problem === 'username'}
              onChange={(e) => setUsername(e.target.value)}
            />
            {problem === 'username' ? <span className="field-error">{t('users.problem.username')}</span> : null}
          </label>
          <label className="field">
            <span>{t('users.displayName')}</span>
            <input type="text" value={displayName} maxLength={128} data-testid="user-display-name" onChange={(e) => setDisplayName(e.target.value)} />
          </label>
          <label className="field">
            <span>{existing ? t('users.resetPassword') : t('users.password')}</span>
            <input
              type="password"
              value={password}
              autoComplete="new-password"
              data-testid="user-password"
              placeholder={existing ? t('users.keepPassword') : ''}
              aria-invalid={problem === 'password'}
              onChange={(e) => setPassword(e.target.value)}
            />
            {problem === 'password' ? <span className="field-error">{t('users.problem.password', { min: MIN_PASSWORD })}</span> : null}
          </label>
          {existing ? (
            <label className="check standalone">
              <input type="checkbox" checked={disabled} data-testid="user-disabled" onChange={(e) => setDisabled(e.target.checked)} />
              <span>
                {t('users.disableAccount')}
                <small className="muted"> — {t('users.disableHint')}</small>
              </span>
            </label>
          ) : null}
        </div>
        <div className="form-grid two">
          <div>
            <RolesField value={roles} onChange={setRoles} testId="user-roles" />
            {problem === 'roles' ? <span className="field-error">{t('users.problem.roles')}</span> : null}
          </div>
          <SitesField value={sites} onChange={setSites} testId="user-sites" />
        </div>
        <ErrorNote error={error} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="button primary" disabled={busy} data-testid="user-save">
            {busy ? t('common.working') : t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
