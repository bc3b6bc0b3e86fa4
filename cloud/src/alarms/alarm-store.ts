import { auditLog, type AuditEntry } from '../audit/audit-log.js';
import { appendToLiveFeed, lockLiveFeed } from '../live/live-feed.js';
import { attachmentUrls } from '../storage/event-store.js';
import type { SqlExecutor } from '../storage/sql-client.js';
import type { AckType, AlarmState, AlarmType } from './alarm-rules.js';

/** An alarm as the API serves it and the live feed pushes it; times are epoch ms. */
export interface Alarm {
  id: string;
  site: string;
  type: AlarmType;
  /** 1 critical, 2 high, 3 medium, 4 low */
  priority: number;
  state: AlarmState;
  gateway: string | null;
  device: string | null;
  point: string | null;
  detail: string | null;
  occurrences: number;
  firstAt: number;
  lastAt: number;
  /** when the current episode was raised (a cleared alarm that occurs again is raised anew) */
  raisedAt: number;
  updatedAt: number;
  conditionEndedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  ackType: AckType | null;
  ackNote: string | null;
  clearedAt: number | null;
  clearedBy: string | null;
  closedAt: number | null;
  closedBy: string | null;
  escalationLevel: number;
  eventId: string | null;
  eventGateway: string | null;
  snapshotUrls: string[];
}

/** Epoch ms of a timestamp column, rounded: times are stored from epoch ms and come back as such. */
export const ms = (column: string) => `round(extract(epoch from ${column}) * 1000)::float8`;
/** A timestamptz from an epoch-ms parameter. */
export const ts = (param: string) => `to_timestamp(${param}::float8 / 1000.0)`;

const ALARM_SELECT = `SELECT a.id::text AS id, a.site, a.type, a.priority, a.state, a.gateway, a.device, a.point, a.detail, a.occurrences,
    ${ms('a.first_at')} AS "firstAt", ${ms('a.last_at')} AS "lastAt", ${ms('a.raised_at')} AS "raisedAt", ${ms('a.updated_at')} AS "updatedAt",
    ${ms('a.condition_ended_at')} AS "conditionEndedAt", ${ms('a.acknowledged_at')} AS "acknowledgedAt", a.acknowledged_by AS "acknowledgedBy",
    a.ack_type AS "ackType", a.ack_note AS "ackNote", ${ms('a.cleared_at')} AS "clearedAt", a.cleared_by AS "clearedBy",
    ${ms('a.closed_at')} AS "closedAt", a.closed_by AS "closedBy", a.escalation_level AS "escalationLevel",
    a.event_id AS "eventId", a.event_gateway AS "eventGateway",
    (SELECT count(*)::int FROM event_attachments x WHERE x.site = a.site AND x.gateway = a.event_gateway AND x.event_id = a.event_id) AS pictures
  FROM alarms a`;

type AlarmRow = Omit<Alarm, 'snapshotUrls'> & { pictures: number };

function toAlarm({ pictures, ...row }: AlarmRow): Alarm {
  const snapshotUrls = row.eventId !== null && row.eventGateway !== null ? attachmentUrls(row.site, row.eventGateway, row.eventId, pictures) : [];
  return { ...row, snapshotUrls };
}

/** Alarms matching `where` (a clause over alias `a`), in the API's shape. */
export async function selectAlarms(db: SqlExecutor, where: string, params: unknown[], tail = ''): Promise<Alarm[]> {
  return (await db.query<AlarmRow>(`${ALARM_SELECT} WHERE ${where} ${tail}`, params)).map(toAlarm);
}

export async function loadAlarm(db: SqlExecutor, id: string): Promise<Alarm | undefined> {
  return (await selectAlarms(db, 'a.id = $1', [id]))[0];
}

/** Alarm ids are bigserial numbers; anything else names no alarm. */
export function parseAlarmId(id: string): string | undefined {
  return /^[1-9][0-9]{0,17}$/.test(id) ? id : undefined;
}

/** One audit line about an alarm, in the transaction of the change. */
export async function auditAlarm(tx: SqlExecutor, site: string, id: string, entry: Omit<AuditEntry, 'site' | 'targetType' | 'targetId'>): Promise<void> {
  await auditLog.append(tx, { ...entry, site, targetType: 'alarm', targetId: id });
}

/** Pushes the current state of alarms to the live feed, in the transaction that changed them. */
export async function pushAlarms(tx: SqlExecutor, ids: Iterable<string>): Promise<Alarm[]> {
  const list = [...new Set(ids)];
  if (list.length === 0) return [];
  const alarms = await selectAlarms(tx, 'a.id = ANY($1::bigint[])', [list], 'ORDER BY a.id');
  await appendToLiveFeed(tx, alarms.map((alarm) => ({ site: alarm.site, kind: 'alarm' as const, payload: alarm })));
  return alarms;
}

/** A webhook url as shown to people: no credentials, query or fragment (they may carry tokens). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

export { lockLiveFeed };
