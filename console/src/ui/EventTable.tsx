import { memo } from 'react';
import type { DeviceEvent } from '../shell/api-types';
import { translateValue, useI18n } from '../shell/i18n';
import { useSession } from '../shell/session';
import { formatDateTime } from '../shell/time';
import { shownPoint } from './door-state';

/** Event types a guard should notice in a list. */
const ALERT_TYPES = new Set(['door_forced_open', 'door_held_open', 'tamper', 'duress', 'access_denied', 'device_offline', 'device_fault']);

/** Door, reader and camera events, newest first as given; one row each (`event-row`). */
export const EventTable = memo(function EventTable(props: {
  events: readonly DeviceEvent[];
  compact?: boolean;
  showSite?: boolean;
  onPicture: (url: string) => void;
}) {
  const { t } = useI18n();
  const session = useSession();
  // pictures are served to those who may read events
  const pictures = session.can('events.read');
  const col = {
    time: t('events.time'),
    site: t('common.site'),
    device: t('device.device'),
    type: t('events.type'),
    card: t('events.card'),
    reason: t('events.reason'),
    pictures: t('events.pictures'),
  };
  return (
    <table className={`table responsive events-table ${props.compact ? 'compact' : ''}`}>
      <thead>
        <tr>
          <th>{col.time}</th>
          {props.showSite ? <th>{col.site}</th> : null}
          {props.compact ? null : <th>{col.device}</th>}
          <th>{col.type}</th>
          <th>{col.card}</th>
          <th>{col.reason}</th>
          {pictures ? <th>{col.pictures}</th> : null}
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => (
          <tr key={`${e.site}/${e.gateway}/${e.id}`} data-testid="event-row" data-event-id={e.id} data-type={e.type}>
            <td data-label={col.time} className="nowrap">
              {formatDateTime(e.ts, session.timeZoneOf(e.site))}
            </td>
            {props.showSite ? <td data-label={col.site}>{session.siteName(e.site)}</td> : null}
            {props.compact ? null : (
              <td data-label={col.device}>
                {session.deviceName(e.site, e.device)}
                {shownPoint(e.point) ? <span className="muted"> · {t('alarm.point')} {e.point}</span> : null}
              </td>
            )}
            <td data-label={col.type}>
              <span className={`event-type ${ALERT_TYPES.has(e.type) ? 'alert' : ''} et-${e.type}`}>{translateValue(t, 'eventType', e.type)}</span>
            </td>
            <td data-label={col.card} className="mono">
              {e.credential ?? ''}
            </td>
            <td data-label={col.reason} className="wrap">
              {e.reason ?? ''}
            </td>
            {pictures ? (
              <td data-label={col.pictures}>
                {(e.attachmentUrls ?? []).map((url, i) => (
                  <button type="button" key={url} className="thumb" onClick={() => props.onPicture(url)} title={t('alarm.enlarge')}>
                    <img src={url} alt={t('events.pictureN', { n: i + 1 })} loading="lazy" />
                  </button>
                ))}
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
});
