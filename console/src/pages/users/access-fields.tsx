import { ROLES, type Role } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import { ALL_SITES, useSession } from '../../shell/session';

/** Role checkboxes; `allowed` narrows the choice (a token gets at most its owner's roles). */
export function RolesField(props: { value: Role[]; onChange: (roles: Role[]) => void; allowed?: readonly Role[]; testId?: string }) {
  const { t } = useI18n();
  const choices = props.allowed ?? ROLES;
  return (
    <fieldset className="field checks" data-testid={props.testId}>
      <legend>{t('users.roles')}</legend>
      {choices.map((role) => (
        <label key={role} className="check">
          <input
            type="checkbox"
            value={role}
            checked={props.value.includes(role)}
            onChange={(e) => props.onChange(e.target.checked ? [...props.value, role] : props.value.filter((r) => r !== role))}
          />
          <span>
            {translateValue(t, 'role', role)}
            <small className="muted"> — {translateValue(t, 'roleHint', role)}</small>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/** Sites granted: every site ('*', including sites added later) or a chosen few. */
export function SitesField(props: { value: string[] | '*'; onChange: (sites: string[] | '*') => void; testId?: string }) {
  const { t } = useI18n();
  const session = useSession();
  const all = props.value === ALL_SITES;
  const chosen = all ? [] : (props.value as string[]);
  return (
    <fieldset className="field checks" data-testid={props.testId}>
      <legend>{t('users.sites')}</legend>
      <label className="check">
        <input type="checkbox" checked={all} onChange={(e) => props.onChange(e.target.checked ? ALL_SITES : [])} data-testid="sites-all" />
        <span>
          <strong>{t('users.allSites')}</strong>
          <small className="muted"> — {t('users.allSitesHint')}</small>
        </span>
      </label>
      {session.sites.map((s) => (
        <label key={s.id} className={`check indent ${all ? 'disabled' : ''}`}>
          <input
            type="checkbox"
            value={s.id}
            disabled={all}
            checked={all || chosen.includes(s.id)}
            onChange={(e) => props.onChange(e.target.checked ? [...chosen, s.id] : chosen.filter((x) => x !== s.id))}
          />
          <span>
            {s.name ?? s.id} <small className="muted">({s.id})</small>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

export function SitesText({ sites }: { sites: string[] | '*' }) {
  const { t } = useI18n();
  const session = useSession();
  if (sites === ALL_SITES) return <span className="chip">{t('users.allSites')}</span>;
  if (sites.length === 0) return <span className="muted">{t('users.noSites')}</span>;
  return <span>{sites.map((s) => session.siteName(s)).join(', ')}</span>;
}

export function RoleChips({ roles }: { roles: readonly Role[] }) {
  const { t } = useI18n();
  return (
    <span className="chips">
      {roles.map((r) => (
        <span key={r} className={`chip role-${r}`}>
          {translateValue(t, 'role', r)}
        </span>
      ))}
    </span>
  );
}
