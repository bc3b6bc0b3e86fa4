import { memo } from 'react';
import type { AuditEntry } from '../shell/api-types';
import { translateValue, useI18n, type Translate } from '../shell/i18n';
import { useSession } from '../shell/session';
import { formatDateTime } from '../shell/time';

/** Lines of the audit log, newest first as given; one row each (`audit-row`). */
export const AuditList = memo(function AuditList(props: { entries: readonly AuditEntry[]; compact?: boolean }) {
  const { t } = useI18n();
  const session = useSession();
  const col = {
    time: t('audit.time'),
    actor: t('audit.actor'),
    site: t('common.site'),
    action: t('audit.action'),
    target: t('audit.target'),
    change: t('audit.change'),
    note: t('audit.note'),
  };
  return (
    <table className={`table responsive audit-table ${props.compact ? 'compact' : ''}`}>
      <thead>
        <tr>
          <th>{col.time}</th>
          <th>{col.actor}</th>
          {props.compact ? null : <th>{col.site}</th>}
          <th>{col.action}</th>
          {props.compact ? null : <th>{col.target}</th>}
          <th>{col.change}</th>
          <th>{col.note}</th>
        </tr>
      </thead>
      <tbody>
        {props.entries.map((e) => (
          <tr key={e.id} data-testid="audit-row" data-action={e.action}>
            <td data-label={col.time} className="nowrap">
              {formatDateTime(e.at, session.timeZoneOf(e.site))}
            </td>
            <td data-label={col.actor} className="nowrap">
              {actorName(t, e.actor)}
            </td>
            {props.compact ? null : (
              <td data-label={col.site} className="nowrap">
                {e.site ? session.siteName(e.site) : '—'}
              </td>
            )}
            <td data-label={col.action} className="nowrap">
              {translateValue(t, 'auditAction', e.action)}
            </td>
            {props.compact ? null : (
              <td data-label={col.target}>
                <span className="muted">{translateValue(t, 'targetType', e.targetType)}</span> <span className="mono">{e.targetId}</span>
              </td>
            )}
            <td data-label={col.change} className="nowrap">
              {e.fromState || e.toState ? (
                <>
                  {e.fromState ? translateValue(t, 'alarmState', e.fromState) : '∅'} → {e.toState ? translateValue(t, 'alarmState', e.toState) : '∅'}
                </>
              ) : (
                ''
              )}
            </td>
            <td data-label={col.note} className="wrap">
              {e.note ?? ''}
              {e.details ? <span className="details mono">{compactJson(e.details)}</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
});

/** Who did it: a username, or the cloud itself. */
export function actorName(t: Translate, actor: string | null): string {
  if (actor === null) return t('actor.system');
  return actor === 'system' ? t('actor.system') : actor;
}

/** Details as one short line; the full object stays in the API. */
function compactJson(details: Record<string, unknown>): string {
  const text = JSON.stringify(details);
  return text.length > 240 ? `${text.slice(0, 239)}…` : text;
}
