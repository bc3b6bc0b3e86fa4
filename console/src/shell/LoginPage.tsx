import { useState, type FormEvent } from 'react';
import { api, ApiError } from './api-client';
import type { SessionInfo } from './api-types';
import { useI18n } from './i18n';
import { LangSwitch } from './LangSwitch';
import { errorText } from '../ui/errors';

export function LoginPage(props: { onLoggedIn: (session: SessionInfo) => void; notice: string | null }) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError(t('login.missing'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const session = await api.post<SessionInfo>('/auth/login', { username: username.trim(), password });
      props.onLoggedIn(session);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'GH_LOCKED_OUT' ? lockedText(err, t) : errorText(t, err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-screen">
      <form className="login-card" onSubmit={submit} noValidate>
        <div className="login-top">
          <div className="brand big">
            <span className="brand-mark" aria-hidden="true" />
            <span>{t('app.name')}</span>
          </div>
          <LangSwitch />
        </div>
        <p className="muted">{t('login.subtitle')}</p>
        {props.notice && !error ? (
          <p className="notice" role="status">
            {props.notice}
          </p>
        ) : null}
        <label className="field">
          <span>{t('login.username')}</span>
          <input
            type="text"
            name="username"
            autoComplete="username"
            autoCapitalize="off"
            spellCheck={false}
            autoFocus
            data-testid="login-username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label className="field">
          <span>{t('login.password')}</span>
          <input type="password" name="password" autoComplete="current-password" data-testid="login-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error ? (
          <p className="error-note" role="alert" data-testid="login-error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="button primary block" data-testid="login-submit" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}

/** "Locked out, try again at 03:12 (in 15 min)": the minutes alone mean little to someone mid-shift. */
function lockedText(err: ApiError, t: ReturnType<typeof useI18n>['t']): string {
  const seconds = err.retryAfter ?? 60;
  const until = new Date(Date.now() + seconds * 1000);
  const at = `${String(until.getHours()).padStart(2, '0')}:${String(until.getMinutes()).padStart(2, '0')}`;
  return t('login.lockedOut', { minutes: Math.max(1, Math.ceil(seconds / 60)), at });
}
