import { useCallback, useEffect, useState } from 'react';
import { ErrorNote } from '../ui/errors';
import { api, ApiError } from './api-client';
import type { Device, SessionInfo, Site, User } from './api-types';
import { useI18n } from './i18n';
import { Layout } from './Layout';
import { live } from './live';
import { LoginPage } from './LoginPage';
import { hasPermission } from './permissions';
import { SessionProvider } from './session';

type Phase =
  | { kind: 'checking' }
  | { kind: 'anonymous'; expired: boolean }
  | { kind: 'unreachable'; error: unknown }
  | { kind: 'ready'; user: User; sites: Site[]; devices: Device[] };

/** What the shell needs before the first page: the sites (time zones) and device names. */
async function loadDirectory(user: User): Promise<{ sites: Site[]; devices: Device[] }> {
  if (!hasPermission(user, 'sites.read')) return { sites: [], devices: [] };
  const [sites, devices] = await Promise.all([
    api.get<{ sites: Site[] }>('/sites'),
    api.get<{ devices: Device[] }>('/devices').catch(() => ({ devices: [] as Device[] })),
  ]);
  return { sites: sites.sites, devices: devices.devices };
}

/** The login gate: who is there decides between the login page and the console. */
export function App() {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>({ kind: 'checking' });

  const enter = useCallback(async (session: SessionInfo) => {
    api.setCsrfToken(session.csrfToken);
    try {
      const directory = await loadDirectory(session.user);
      setPhase({ kind: 'ready', user: session.user, ...directory });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setPhase({ kind: 'anonymous', expired: true });
      else setPhase({ kind: 'unreachable', error });
    }
  }, []);

  const check = useCallback(async () => {
    setPhase({ kind: 'checking' });
    try {
      await enter(await api.get<SessionInfo>('/auth/me'));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setPhase({ kind: 'anonymous', expired: false });
      else setPhase({ kind: 'unreachable', error });
    }
  }, [enter]);

  useEffect(() => {
    api.onUnauthorized(() => {
      api.setCsrfToken(null);
      setPhase((p) => (p.kind === 'ready' ? { kind: 'anonymous', expired: true } : p));
    });
    void check();
    return () => api.onUnauthorized(null);
  }, [check]);

  const ready = phase.kind === 'ready';
  useEffect(() => {
    if (!ready) return;
    live.start();
    return () => live.stop();
  }, [ready]);

  useEffect(() => {
    if (!ready) document.title = t('app.title');
  }, [ready, t]);

  const logout = useCallback(async () => {
    try {
      await api.post('/auth/logout');
    } catch {
      // the session is dropped here either way
    }
    api.setCsrfToken(null);
    setPhase({ kind: 'anonymous', expired: false });
  }, []);

  switch (phase.kind) {
    case 'checking':
      return <div className="splash">{t('common.loading')}</div>;
    case 'unreachable':
      return (
        <div className="splash">
          <ErrorNote error={phase.error} />
          <button type="button" className="button primary" onClick={() => void check()}>
            {t('common.retry')}
          </button>
        </div>
      );
    case 'anonymous':
      return <LoginPage onLoggedIn={(s) => void enter(s)} notice={phase.expired ? t('login.expired') : null} />;
    case 'ready':
      return (
        <SessionProvider key={phase.user.username} user={phase.user} sites={phase.sites} devices={phase.devices} onLogout={() => void logout()}>
          <Layout />
        </SessionProvider>
      );
  }
}
