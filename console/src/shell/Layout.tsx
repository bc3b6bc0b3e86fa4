import { Suspense, useEffect, useRef, useState, type FormEvent } from 'react';
import { PAGES } from '../pages';
import { Dialog } from '../ui/Dialog';
import { ErrorNote } from '../ui/errors';
import { MIN_PASSWORD } from './account-rules';
import { api } from './api-client';
import type { SessionInfo } from './api-types';
import { translateValue, useI18n } from './i18n';
import { LangSwitch } from './LangSwitch';
import { useLiveStatus } from './live';
import type { PageDefinition } from './page-types';
import { Link, navigate, parseRoute, pathOf, usePath } from './router';
import { ALL_SITES, useSession } from './session';

/** The frame around every page: navigation, site, live connection, language, account. */
export function Layout() {
  const { t } = useI18n();
  const session = useSession();
  const path = usePath();
  const route = parseRoute(path);
  const allowed = PAGES.filter((p) => session.can(p.permission));
  const current = PAGES.find((p) => p.id === route.page);
  const landing = allowed[0];

  useEffect(() => {
    if (route.page === '' && landing) navigate(pathOf(landing.id), { replace: true });
  }, [route.page, landing]);

  let content;
  if (!current) content = route.page === '' ? null : <Problem text={t('shell.notFound')} />;
  else if (!session.can(current.permission)) content = <Problem text={t('shell.notAllowed')} />;
  else {
    const Page = current.component;
    content = (
      <Suspense fallback={<p className="muted pad">{t('common.loading')}</p>}>
        <Page params={route.params} />
      </Suspense>
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <Link href="/" className="brand" aria-label={t('app.name')}>
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{t('app.name')}</span>
        </Link>
        <nav className="nav" aria-label={t('shell.navigation')}>
          {allowed.map((p) => (
            <NavItem key={p.id} page={p} active={p.id === current?.id} />
          ))}
        </nav>
        <div className="topbar-tools">
          {allowed.map((p) => (p.TopBarItem ? <p.TopBarItem key={p.id} /> : null))}
          <LiveIndicator />
          <SitePicker />
          <LangSwitch />
          <UserMenu />
        </div>
      </header>
      <main className="content" id="main">
        {content}
      </main>
    </div>
  );
}

function NavItem({ page, active }: { page: PageDefinition; active: boolean }) {
  const { t } = useI18n();
  const Icon = page.icon;
  const Badge = page.NavBadge;
  return (
    <Link href={pathOf(page.id)} className={`nav-item ${active ? 'active' : ''}`} data-testid={`nav-${page.id}`} aria-current={active ? 'page' : undefined}>
      <Icon />
      <span className="nav-label">{t(page.title)}</span>
      {Badge ? <Badge /> : null}
    </Link>
  );
}

function Problem({ text }: { text: string }) {
  return <p className="problem">{text}</p>;
}

function LiveIndicator() {
  const { t } = useI18n();
  const status = useLiveStatus();
  return (
    <span className={`live-status live-${status}`} data-testid="live-status" data-state={status} title={t(`live.${status}Hint`)} role="status">
      <span className="dot" aria-hidden="true" />
      <span className="live-label">{t(`live.${status}`)}</span>
    </span>
  );
}

function SitePicker() {
  const { t } = useI18n();
  const session = useSession();
  if (session.sites.length === 0) return <span className="muted small">{t('shell.noSites')}</span>;
  return (
    <select
      className="site-picker"
      data-testid="site-picker"
      aria-label={t('shell.site')}
      value={session.selectedSite}
      onChange={(e) => session.setSelectedSite(e.target.value)}
    >
      {session.sites.length > 1 ? <option value={ALL_SITES}>{t('shell.allSites')}</option> : null}
      {session.sites.map((s) => (
        <option key={s.id} value={s.id}>
          {s.name ?? s.id}
        </option>
      ))}
    </select>
  );
}

function UserMenu() {
  const { t } = useI18n();
  const session = useSession();
  const [open, setOpen] = useState(false);
  const [changingPassword, setChangingPassword] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !ref.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);
  const { user } = session;
  const initial = (user.displayName ?? user.username).slice(0, 1).toUpperCase();
  return (
    <div className="user-menu" ref={ref}>
      <button type="button" className="user-button" data-testid="user-menu" aria-expanded={open} aria-haspopup="menu" onClick={() => setOpen(!open)} title={user.username}>
        <span className="avatar" aria-hidden="true">
          {initial}
        </span>
        <span className="user-name">{user.displayName ?? user.username}</span>
      </button>
      {open ? (
        <div className="menu" role="menu">
          <div className="menu-who">
            <strong>{user.displayName ?? user.username}</strong>
            <span className="muted small">{user.username}</span>
            <span className="small">{user.roles.map((r) => translateValue(t, 'role', r)).join(' · ')}</span>
          </div>
          <button
            type="button"
            role="menuitem"
            onClick={() => {
              setOpen(false);
              setChangingPassword(true);
            }}
          >
            {t('account.changePassword')}
          </button>
          <button type="button" role="menuitem" data-testid="logout" onClick={session.logout}>
            {t('account.logout')}
          </button>
        </div>
      ) : null}
      {changingPassword ? <PasswordDialog onClose={() => setChangingPassword(false)} /> : null}
    </div>
  );
}

function PasswordDialog({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (next.length < MIN_PASSWORD) return setProblem(t('users.problem.password', { min: MIN_PASSWORD }));
    if (next !== repeat) return setProblem(t('account.mismatch'));
    setProblem(null);
    setBusy(true);
    setError(null);
    try {
      await api.post('/auth/password', { currentPassword: current, newPassword: next });
      // the change ends every session and gives this browser a new one, with its own CSRF token
      const me = await api.get<SessionInfo>('/auth/me');
      api.setCsrfToken(me.csrfToken);
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={t('account.changePassword')} onClose={onClose}>
      {done ? (
        <>
          <p className="notice">{t('account.passwordChanged')}</p>
          <div className="dialog-actions">
            <button type="button" className="button primary" onClick={onClose}>
              {t('common.done')}
            </button>
          </div>
        </>
      ) : (
        <form className="form" onSubmit={submit} noValidate>
          <label className="field">
            <span>{t('account.currentPassword')}</span>
            <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
          </label>
          <label className="field">
            <span>{t('account.newPassword')}</span>
            <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
          </label>
          <label className="field">
            <span>{t('account.repeatPassword')}</span>
            <input type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
          </label>
          {problem ? <p className="error-note">{problem}</p> : null}
          <ErrorNote error={error} />
          <div className="dialog-actions">
            <button type="button" className="button" onClick={onClose}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="button primary" disabled={busy}>
              {t('common.save')}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
