import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { api } from '../../shell/api-client';
import type { Alarm, AlarmDetail as AlarmDetailData, Camera, DeviceEvent, Door } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import { live } from '../../shell/live';
import { useSession } from '../../shell/session';
import { formatDateTime } from '../../shell/time';
import { OnlineState, PriorityBadge, StateChip } from '../../ui/badges';
import { Lightbox } from '../../ui/Dialog';
import { DoorCommand, type DoorCommandHandle } from '../../ui/DoorCommand';
import { cameraAfterEvent, doorAfterEvent, shownPoint } from '../../ui/door-state';
import { ErrorNote } from '../../ui/errors';
import { actorName, AuditList } from '../../ui/AuditList';
import { EventTable } from '../../ui/EventTable';
import { AckForm, TransitionForm } from './AlarmActions';
import { alarmQueue } from './alarm-queue';

export interface PendingAction {
  kind: 'ack' | 'door';
  alarmId: string;
  /** changes on every key press, so pressing the same key twice acts twice */
  nonce: number;
}

/** The last events at the door kept in the panel while it is open. */
const RECENT_EVENTS = 20;

interface SiteDoors {
  site: string;
  doors: Door[];
  cameras: Camera[];
}

/**
 * One alarm in full: its pictures large, what happened and how often, the door's state and last
 * events, what was done about it and who was told — and the actions, for those allowed to act.
 */
export function AlarmDetail(props: { id: string; action: PendingAction | null; onClose: () => void }) {
  const { id, action } = props;
  const { t } = useI18n();
  const session = useSession();
  const [detail, setDetail] = useState<AlarmDetailData | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [siteDoors, setSiteDoors] = useState<SiteDoors | null>(null);
  const [picture, setPicture] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);
  const doorRef = useRef<DoorCommandHandle>(null);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const fresh = await api.get<AlarmDetailData>(`/alarms/${encodeURIComponent(id)}`);
      if (mine !== generation.current) return;
      setDetail({ ...fresh, recentEvents: fresh.recentEvents.slice(0, RECENT_EVENTS) });
      setLoadError(null);
    } catch (error) {
      if (mine === generation.current) setLoadError(error);
    }
  }, [id]);

  useEffect(() => {
    setDetail(null);
    setLoadError(null);
    setNotice(null);
    void reload();
    return () => {
      generation.current++;
      if (refreshTimer.current) clearTimeout(refreshTimer.current);
    };
  }, [reload]);

  const site = detail?.site ?? null;
  useEffect(() => {
    if (!site || (siteDoors && siteDoors.site === site)) return;
    let cancelled = false;
    api.get<{ doors: Door[]; cameras: Camera[] }>(`/sites/${encodeURIComponent(site)}/doors`).then(
      (r) => !cancelled && setSiteDoors({ site, doors: r.doors, cameras: r.cameras }),
      () => !cancelled && setSiteDoors({ site, doors: [], cameras: [] }),
    );
    return () => {
      cancelled = true;
    };
  }, [site, siteDoors]);

  // the history and notifications change with the alarm: fetch them again shortly after it does
  const scheduleRefresh = useCallback(() => {
    if (refreshTimer.current) clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(() => void reload(), 400);
  }, [reload]);

  const applyAlarm = useCallback(
    (alarm: Alarm) => {
      if (alarm.id !== id) return;
      setDetail((d) => (d && alarm.updatedAt > d.updatedAt ? { ...d, ...alarm } : d));
      scheduleRefresh();
    },
    [id, scheduleRefresh],
  );

  useEffect(
    () =>
      live.subscribe({
        alarm: applyAlarm,
        event: (event: DeviceEvent) => {
          setDetail((d) => {
            if (!d || d.site !== event.site || d.device !== event.device) return d;
            const others = d.recentEvents.filter((e) => !(e.gateway === event.gateway && e.id === event.id));
            return { ...d, recentEvents: [event, ...others].slice(0, RECENT_EVENTS) };
          });
          setSiteDoors((s) =>
            s && s.site === event.site ? { ...s, doors: s.doors.map((d) => doorAfterEvent(d, event)), cameras: s.cameras.map((c) => cameraAfterEvent(c, event)) } : s,
          );
        },
        resync: () => void reload(),
      }),
    [applyAlarm, reload],
  );

  const door =
    detail && siteDoors && detail.device
      ? siteDoors.doors.find((d) => d.device === detail.device && (detail.point === null || d.point === null || d.point === detail.point))
      : undefined;
  const camera = detail && siteDoors && detail.device ? siteDoors.cameras.find((c) => c.device === detail.device) : undefined;

  // keyboard shortcuts from the queue: a = acknowledge, o = open the door
  const handledNonce = useRef(0);
  useEffect(() => {
    if (!action || action.alarmId !== id || action.nonce === handledNonce.current || !detail) return;
    if (action.kind === 'ack') {
      handledNonce.current = action.nonce;
      if (!session.can('alarms.handle')) setNotice(t('alarm.roleNote', { roles: session.user.roles.map((r) => translateValue(t, 'role', r)).join(', ') }));
      else if (detail.state === 'new') {
        noteRef.current?.focus();
        noteRef.current?.scrollIntoView({ block: 'center', behavior: 'smooth' });
      } else setNotice(t('alarm.alreadyAcknowledged'));
      return;
    }
    if (!siteDoors) return; // wait until we know whether the device is a door
    handledNonce.current = action.nonce;
    if (!door) setNotice(t('alarm.noDoor'));
    else if (!session.can('doors.command')) setNotice(t('door.roleNote'));
    else doorRef.current?.request('open');
  }, [action, id, detail, siteDoors, door, session, t]);

  const onChanged = useCallback(
    (alarm: Alarm) => {
      alarmQueue.apply(alarm, false);
      setDetail((d) => (d && alarm.updatedAt >= d.updatedAt ? { ...d, ...alarm } : d));
      scheduleRefresh();
    },
    [scheduleRefresh],
  );

  if (!detail) {
    return (
      <aside className="alarm-detail" data-testid="alarm-detail" aria-busy={!loadError}>
        <DetailHeader onClose={props.onClose} />
        {loadError ? <ErrorNote error={loadError} /> : <p className="muted pad">{t('common.loading')}</p>}
      </aside>
    );
  }

  const tz = session.timeZoneOf(detail.site);
  const deviceName = session.deviceName(detail.site, detail.device);
  const device = detail.device ? session.device(detail.site, detail.device) : undefined;
  const canHandle = session.can('alarms.handle');
  const maySeePictures = session.can('events.read');
  const [mainPicture, ...morePictures] = maySeePictures ? detail.snapshotUrls : [];

  return (
    <aside className="alarm-detail" data-testid="alarm-detail" data-alarm-id={detail.id} data-state={detail.state}>
      <DetailHeader onClose={props.onClose}>
        <PriorityBadge priority={detail.priority} />
        <h2>{translateValue(t, 'alarmType', detail.type)}</h2>
        <StateChip state={detail.state} />
      </DetailHeader>
      <p className="detail-where">
        {deviceName}
        {shownPoint(detail.point) ? ` · ${t('alarm.point')} ${detail.point}` : ''} · {session.siteName(detail.site)}
      </p>

      {mainPicture ? (
        <div className="snapshots">
          <button type="button" className="snapshot-main" onClick={() => setPicture(mainPicture)} title={t('alarm.enlarge')}>
            <img src={mainPicture} alt={t('alarm.snapshotAlt', { device: deviceName })} data-testid="alarm-snapshot" />
          </button>
          {morePictures.length > 0 ? (
            <div className="snapshot-strip">
              {morePictures.map((url) => (
                <button type="button" key={url} onClick={() => setPicture(url)} title={t('alarm.enlarge')}>
                  <img src={url} alt={t('alarm.snapshotAlt', { device: deviceName })} data-testid="alarm-snapshot" loading="lazy" />
                </button>
              ))}
            </div>
          ) : null}
        </div>
      ) : (
        <p className="no-picture">{maySeePictures || detail.snapshotUrls.length === 0 ? t('alarm.noPicture') : t('alarm.picturesNotAllowed')}</p>
      )}

      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}

      <section className="detail-section actions">
        <h3>{t('alarm.actions')}</h3>
        {!canHandle ? (
          <p className="role-note">{t('alarm.roleNote', { roles: session.user.roles.map((r) => translateValue(t, 'role', r)).join(', ') })}</p>
        ) : (
          <>
            {detail.state === 'new' ? <AckForm alarm={detail} noteRef={noteRef} onDone={onChanged} /> : null}
            {detail.state !== 'new' ? <TransitionForm alarm={detail} onDone={onChanged} /> : null}
          </>
        )}
        {door ? (
          <div className="detail-door">
            <h4>{t('alarm.doorControl', { door: door.name ?? deviceName })}</h4>
            <DoorCommand ref={doorRef} site={detail.site} device={door.device} door={door.point ?? detail.point} label={door.name ?? deviceName} />
          </div>
        ) : null}
      </section>

      <section className="detail-section">
        <h3>{t('alarm.facts')}</h3>
        <dl className="facts">
          <dt>{t('alarm.occurrences')}</dt>
          <dd data-testid="alarm-occurrences">{detail.occurrences}</dd>
          <dt>{t('alarm.firstAt')}</dt>
          <dd>{formatDateTime(detail.firstAt, tz)}</dd>
          <dt>{t('alarm.lastAt')}</dt>
          <dd>{formatDateTime(detail.lastAt, tz)}</dd>
          {detail.conditionEndedAt ? (
            <>
              <dt>{t('alarm.conditionEndedAt')}</dt>
              <dd>{formatDateTime(detail.conditionEndedAt, tz)}</dd>
            </>
          ) : null}
          {detail.escalationLevel > 0 ? (
            <>
              <dt>{t('alarm.escalationLevel')}</dt>
              <dd>{detail.escalationLevel}</dd>
            </>
          ) : null}
          {detail.detail ? (
            <>
              <dt>{t('alarm.detail')}</dt>
              <dd className="wrap">{detail.detail}</dd>
            </>
          ) : null}
          {detail.acknowledgedAt ? (
            <>
              <dt>{t('alarm.acknowledged')}</dt>
              <dd>
                {t('alarm.byAt', { user: actorName(t, detail.acknowledgedBy), at: formatDateTime(detail.acknowledgedAt, tz) })}
                {detail.ackType ? <span className={`chip ack-${detail.ackType}`}>{translateValue(t, 'ackType', detail.ackType)}</span> : null}
                {detail.ackNote ? <span className="note-text">{detail.ackNote}</span> : null}
              </dd>
            </>
          ) : null}
          {detail.clearedAt ? (
            <>
              <dt>{t('alarm.cleared')}</dt>
              <dd>{t('alarm.byAt', { user: actorName(t, detail.clearedBy), at: formatDateTime(detail.clearedAt, tz) })}</dd>
            </>
          ) : null}
          {detail.closedAt ? (
            <>
              <dt>{t('alarm.closed')}</dt>
              <dd>{t('alarm.byAt', { user: actorName(t, detail.closedBy), at: formatDateTime(detail.closedAt, tz) })}</dd>
            </>
          ) : null}
        </dl>
      </section>

      {detail.device ? (
        <section className="detail-section">
          <h3>{t('alarm.deviceState')}</h3>
          <dl className="facts">
            <dt>{t('device.device')}</dt>
            <dd>
              {deviceName}
              {device && device.name ? <span className="muted"> ({device.id})</span> : null}
              {device ? <span className="muted"> · {translateValue(t, 'deviceKind', device.kind)}</span> : null}
            </dd>
            <dt>{t('device.connection')}</dt>
            <dd>
              <OnlineState online={door?.online ?? camera?.online ?? (device?.reportedAs ? device.reportedAs === 'online' : null)} />
            </dd>
            {door ? (
              <>
                <dt>{t('door.state')}</dt>
                <dd>
                  <span className={`door-state ds-${door.doorState}`}>{translateValue(t, 'doorState', door.doorState)}</span>
                </dd>
              </>
            ) : null}
            {device?.lastSeen ? (
              <>
                <dt>{t('device.lastSeen')}</dt>
                <dd>{formatDateTime(device.lastSeen, tz)}</dd>
              </>
            ) : null}
          </dl>
        </section>
      ) : null}

      {detail.device ? (
        <section className="detail-section">
          <h3>{t('alarm.recentEvents')}</h3>
          {detail.recentEvents.length === 0 ? (
            <p className="muted">{t('events.none')}</p>
          ) : (
            <EventTable events={detail.recentEvents} compact onPicture={setPicture} />
          )}
        </section>
      ) : null}

      <section className="detail-section">
        <h3>{t('alarm.history')}</h3>
        {detail.history.length === 0 ? <p className="muted">{t('audit.none')}</p> : <AuditList entries={detail.history} compact />}
      </section>

      <section className="detail-section">
        <h3>{t('alarm.notifications')}</h3>
        {detail.notifications.length === 0 ? (
          <p className="muted">{t('alarm.noNotifications')}</p>
        ) : (
          <ul className="notifications">
            {detail.notifications.map((n) => (
              <li key={String(n.id)}>
                <span className="chip">{t('alarm.level', { level: n.level })}</span>
                <span>{translateValue(t, 'channel', n.channel)}</span>
                <span className="mono">{n.target}</span>
                <span className={`chip notif-${n.status}`}>{translateValue(t, 'notificationStatus', n.status)}</span>
                <span className="muted small">
                  {n.sentAt ? formatDateTime(n.sentAt, tz) : t('alarm.attempts', { count: n.attempts })}
                </span>
                {n.lastError ? <span className="error-detail">{n.lastError}</span> : null}
              </li>
            ))}
          </ul>
        )}
      </section>

      {picture ? <Lightbox src={picture} caption={deviceName} onClose={() => setPicture(null)} /> : null}
    </aside>
  );
}

function DetailHeader(props: { onClose: () => void; children?: ReactNode }) {
  const { t } = useI18n();
  return (
    <header className="detail-head">
      <button type="button" className="icon-button back" onClick={props.onClose} aria-label={t('common.back')} title={t('common.backKey')}>
        ←
      </button>
      <div className="detail-title">{props.children}</div>
      <button type="button" className="icon-button close" onClick={props.onClose} aria-label={t('common.close')} title={t('common.backKey')}>
        ×
      </button>
    </header>
  );
}
