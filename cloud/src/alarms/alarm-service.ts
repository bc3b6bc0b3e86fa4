import type { DeviceEvent, GatewayAddress } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import { ApiError } from '../api/errors.js';
import { auditLog, type StoredAuditEntry } from '../audit/audit-log.js';
import { attachmentUrls, type EventStore, type StoredEvent } from '../storage/event-store.js';
import type { SqlClient, SqlExecutor } from '../storage/sql-client.js';
import { alarmsConfigSchema, type AlarmsConfig, type AlarmsConfigInput } from './alarm-config.js';
import {
  alarmRaisedBy,
  conditionEndEffect,
  conditionsEndedBy,
  healthSourceKey,
  occurrenceEffect,
  priorityOf,
  transitionRefusal,
  type AckType,
  type AlarmState,
  type AlarmType,
  type TransitionName,
} from './alarm-rules.js';
import { auditAlarm, loadAlarm, lockLiveFeed, ms, parseAlarmId, pushAlarms, redactUrl, selectAlarms, ts, type Alarm } from './alarm-store.js';

export interface AlarmServiceOptions {
  db: SqlClient;
  /** the `alarms` section of the configuration (parsed here; partial input gets the defaults) */
  config: AlarmsConfigInput;
  logger: Logger;
  /** the clock (epoch ms); tests move it */
  now?: () => number;
}

/** An event as the alarm detail lists it: the shape of GET /api/v1/events. */
export type AlarmEvent = StoredEvent & { attachmentUrls: string[] };

/** An escalation message to send or sent; webhook targets without their query string. */
export interface AlarmNotification {
  id: string;
  level: number;
  channel: 'webhook' | 'email';
  target: string;
  status: 'pending' | 'sent' | 'failed' | 'cancelled';
  attempts: number;
  lastError: string | null;
  createdAt: number;
  nextAttemptAt: number;
  sentAt: number | null;
}

export interface AlarmDetail extends Alarm {
  /** audit lines about the alarm, oldest first */
  history: StoredAuditEntry[];
  notifications: AlarmNotification[];
  /** the last 20 events at the alarm's device (and door), or its gateway, newest first */
  recentEvents: AlarmEvent[];
}

export interface AlarmFilter {
  /** sites the reader may see; '*' for all */
  sites: readonly string[] | '*';
  /** default: every state but closed */
  states?: readonly AlarmState[];
  priorities?: readonly number[];
  limit: number;
  /** nextCursor of the previous page */
  cursor?: string;
}

/** An occurrence of an alarm condition: an event, or a health check finding it. */
interface Occurrence {
  site: string;
  type: AlarmType;
  sourceKey: string;
  gateway: string | null;
  device: string | null;
  point: string | null;
  detail: string | null;
  event: { gateway: string; id: string } | null;
  /** when it happened (an event's time; when a health condition began) */
  at: number;
}

/** What the health checks find wrong right now. */
type HealthCondition = Omit<Occurrence, 'event' | 'point'>;

const OPEN_STATES: readonly AlarmState[] = ['new', 'acknowledged', 'cleared'];
const HEALTH_TYPES: readonly AlarmType[] = ['gateway_offline', 'meter_comm_error', 'backlog_stale', 'energy_anomaly'];
const MAX_NOTE = 1000;

/**
 * The alarm engine: raises alarms from stored events and from health checks (one alarm per source
 * while it is open, occurrences counted on it), and moves them through new → acknowledged → cleared →
 * closed. Every change writes an audit line and a live-feed item in its own transaction; a refused
 * transition changes nothing. Safe with several cloud instances on one database: the unique index of
 * open alarms per source and row locks make raising idempotent.
 */
export class AlarmService {
  readonly config: AlarmsConfig;
  private readonly db: SqlClient;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(options: AlarmServiceOptions) {
    this.config = alarmsConfigSchema.parse(options.config);
    this.db = options.db;
    this.logger = options.logger.child({ component: 'alarms' });
    this.now = options.now ?? Date.now;
  }

  /** Raises and ends alarms as events are stored, inside the storing transaction. */
  attach(events: EventStore): void {
    events.onStored((tx, origin, stored) => this.onEventsStored(tx, origin, stored));
  }

  /** The event hook; public for tests that store events their own way. */
  async onEventsStored(tx: SqlExecutor, origin: GatewayAddress, stored: { inserted: readonly DeviceEvent[]; picturesAdded: readonly DeviceEvent[] }): Promise<void> {
    // Alarm rows are locked after the live feed's lock, as everywhere (storing events took it already;
    // taking it again in the same transaction is free).
    await lockLiveFeed(tx);
    const touched = new Set<string>();
    for (const e of stored.inserted) {
      const at = { ...e, gateway: origin.gateway };
      const raised = alarmRaisedBy(at);
      if (raised) {
        const id = await this.occur(tx, {
          site: origin.site,
          type: raised.type,
          sourceKey: raised.sourceKey,
          gateway: origin.gateway,
          device: e.device,
          point: e.point ?? null,
          detail: e.reason ?? null,
          event: { gateway: origin.gateway, id: e.id },
          at: e.ts,
        }, 'event');
        if (id) touched.add(id);
      }
      for (const key of conditionsEndedBy(at)) {
        const id = await this.endCondition(tx, origin.site, key, e.ts, `${e.type} at ${new Date(e.ts).toISOString()}`);
        if (id) touched.add(id);
      }
    }
    // Pictures that follow their event are the alarm's snapshots: the console is told of them.
    for (const e of stored.picturesAdded) {
      const rows = await tx.query<{ id: string }>('SELECT id::text AS id FROM alarms WHERE site = $1 AND event_gateway = $2 AND event_id = $3', [origin.site, origin.gateway, e.id]);
      for (const r of rows) touched.add(r.id);
    }
    await pushAlarms(tx, touched);
  }

  /**
   * Counts an occurrence on the open alarm of its source, or raises one. A health condition still on
   * changes nothing (only a new episode counts); an event always counts. Returns the alarm's id when
   * it changed.
   */
  private async occur(tx: SqlExecutor, o: Occurrence, mode: 'event' | 'health'): Promise<string | undefined> {
    const now = this.now();
    for (let attempt = 0; ; attempt++) {
      const [open] = await tx.query<{ id: string; state: AlarmState; lastAt: number; conditionEndedAt: number | null; occurrences: number }>(
        `SELECT id::text AS id, state, ${ms('last_at')} AS "lastAt", ${ms('condition_ended_at')} AS "conditionEndedAt", occurrences
           FROM alarms WHERE site = $1 AND source_key = $2 AND state <> 'closed' FOR UPDATE`,
        [o.site, o.sourceKey],
      );
      if (!open) {
        // The unique index of open alarms per source: if another instance raised it since, insert
        // nothing and count on that one.
        const [raised] = await tx.query<{ id: string }>(
          `INSERT INTO alarms (site, source_key, type, priority, gateway, device, point, detail, event_gateway, event_id, first_at, last_at, raised_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, ${ts('$11')}, ${ts('$11')}, ${ts('$12')}, ${ts('$12')})
           ON CONFLICT (site, source_key) WHERE state <> 'closed' DO NOTHING RETURNING id::text AS id`,
          [o.site, o.sourceKey, o.type, priorityOf(this.config, o.site, o.type), o.gateway, o.device, o.point, o.detail, o.event?.gateway ?? null, o.event?.id ?? null, o.at, now],
        );
        if (raised) {
          await auditAlarm(tx, o.site, raised.id, { actor: 'system', action: 'alarm.raise', fromState: null, toState: 'new', note: o.detail, details: eventDetails(o) });
          return raised.id;
        }
        if (attempt >= 2) throw new Error(`alarm source ${o.site}/${o.sourceKey} neither open nor insertable`);
        continue;
      }
      if (mode === 'health' && open.conditionEndedAt === null) return undefined;
      const effect = mode === 'health' ? { reopen: open.state === 'cleared', conditionOn: true, newest: true } : occurrenceEffect(open, o.at);
      await tx.query(
        `UPDATE alarms SET
           occurrences = occurrences + 1,
           last_at = GREATEST(last_at, ${ts('$2')}),
           event_gateway = CASE WHEN $3 THEN $4 ELSE event_gateway END,
           event_id = CASE WHEN $3 THEN $5 ELSE event_id END,
           detail = CASE WHEN $9 THEN COALESCE($6, detail) ELSE detail END,
           condition_ended_at = CASE WHEN $7 THEN NULL ELSE condition_ended_at END,
           updated_at = ${ts('$8')}
           ${
             // A new episode: raised anew, to be acknowledged (and escalated) again.
             effect.reopen
               ? `, state = 'new', raised_at = ${ts('$8')}, escalation_level = 0, acknowledged_at = NULL, acknowledged_by = NULL,
                  ack_type = NULL, ack_note = NULL, cleared_at = NULL, cleared_by = NULL`
               : ''
           }
         WHERE id = $1`,
        [open.id, o.at, effect.newest && o.event !== null, o.event?.gateway ?? null, o.event?.id ?? null, o.detail, effect.conditionOn, now, effect.newest],
      );
      const occurrences = open.occurrences + 1;
      await auditAlarm(tx, o.site, open.id, {
        actor: 'system',
        action: effect.reopen ? 'alarm.reoccur' : 'alarm.repeat',
        fromState: open.state,
        toState: effect.reopen ? 'new' : open.state,
        note: `occurrence ${occurrences}${o.detail ? `: ${o.detail}` : ''}`,
        details: eventDetails(o),
      });
      return open.id;
    }
  }

  /** Records that the condition of a source's open alarm ended at `at`; returns its id when it changed. */
  private async endCondition(tx: SqlExecutor, site: string, sourceKey: string, at: number, note: string): Promise<string | undefined> {
    const [open] = await tx.query<{ id: string; state: AlarmState; lastAt: number; conditionEndedAt: number | null }>(
      `SELECT id::text AS id, state, ${ms('last_at')} AS "lastAt", ${ms('condition_ended_at')} AS "conditionEndedAt"
         FROM alarms WHERE site = $1 AND source_key = $2 AND state <> 'closed' FOR UPDATE`,
      [site, sourceKey],
    );
    if (!open) return undefined;
    const effect = conditionEndEffect(open, at);
    if (effect === 'none') return undefined;
    const now = this.now();
    if (effect === 'clear') {
      await tx.query(
        `UPDATE alarms SET state = 'cleared', cleared_at = ${ts('$2')}, cleared_by = 'system', condition_ended_at = ${ts('$3')}, updated_at = ${ts('$2')} WHERE id = $1`,
        [open.id, now, at],
      );
      await auditAlarm(tx, site, open.id, { actor: 'system', action: 'alarm.clear', fromState: 'acknowledged', toState: 'cleared', note: `condition ended: ${note}` });
    } else {
      await tx.query(`UPDATE alarms SET condition_ended_at = ${ts('$3')}, updated_at = ${ts('$2')} WHERE id = $1`, [open.id, now, at]);
      await auditAlarm(tx, site, open.id, { actor: 'system', action: 'alarm.condition_end', fromState: open.state, toState: open.state, note: `condition ended: ${note}` });
    }
    return open.id;
  }

  /**
   * One round of health checks: gateways offline or silent, meters answering only communication
   * errors, journals not draining. Raises an alarm for each new episode, ends those whose condition
   * went away. Two instances may run it at once: each change is re-checked under the row lock.
   */
  async checkHealth(): Promise<{ raised: number; ended: number }> {
    const now = this.now();
    const found = await this.healthConditions(now);
    const open = await this.db.query<{ site: string; sourceKey: string; conditionEndedAt: number | null }>(
      `SELECT site, source_key AS "sourceKey", ${ms('condition_ended_at')} AS "conditionEndedAt" FROM alarms WHERE type = ANY($1::text[]) AND state <> 'closed'`,
      [HEALTH_TYPES],
    );
    const key = (site: string, sourceKey: string) => `${site}\u0000${sourceKey}`;
    const ongoing = new Set(open.filter((a) => a.conditionEndedAt === null).map((a) => key(a.site, a.sourceKey)));
    const holding = new Set(found.map((c) => key(c.site, c.sourceKey)));
    let raised = 0;
    let ended = 0;
    for (const c of found) {
      if (ongoing.has(key(c.site, c.sourceKey))) continue;
      const changed = await this.db.transaction(async (tx) => {
        await lockLiveFeed(tx);
        const id = await this.occur(tx, { ...c, point: null, event: null }, 'health');
        if (id) await pushAlarms(tx, [id]);
        return id !== undefined;
      });
      if (changed) {
        raised++;
        this.logger.warn({ site: c.site, type: c.type, gateway: c.gateway, device: c.device, detail: c.detail }, 'health alarm raised');
      }
    }
    for (const a of open) {
      if (a.conditionEndedAt !== null || holding.has(key(a.site, a.sourceKey))) continue;
      const changed = await this.db.transaction(async (tx) => {
        await lockLiveFeed(tx);
        const id = await this.endCondition(tx, a.site, a.sourceKey, now, healthEndNote(a.sourceKey));
        if (id) await pushAlarms(tx, [id]);
        return id !== undefined;
      });
      if (changed) ended++;
    }
    return { raised, ended };
  }

  private async healthConditions(now: number): Promise<HealthCondition[]> {
    const c = this.config;
    const found: HealthCondition[] = [];
    const gateways = await this.db.query<{ site: string; id: string; status: string; lastSeen: number | null; statusChangedAt: number | null }>(
      `SELECT site, id, status, ${ms('last_seen')} AS "lastSeen", ${ms('status_changed_at')} AS "statusChangedAt" FROM gateways
        WHERE status = 'offline' OR (status = 'online' AND (last_seen IS NULL OR last_seen < ${ts('$1')}))`,
      [now - c.gatewaySilenceSeconds * 1000],
    );
    for (const g of gateways) {
      const dead = g.status === 'offline';
      const since = (dead ? g.statusChangedAt : g.lastSeen) ?? now;
      found.push({
        site: g.site,
        type: 'gateway_offline',
        sourceKey: healthSourceKey.gatewayOffline(g.id),
        gateway: g.id,
        device: null,
        detail: dead ? `gateway ${g.id} went offline (death message) at ${iso(since)}` : `nothing heard from gateway ${g.id} since ${iso(since)}`,
        at: since,
      });
    }
    const meters = await this.db.query<{ site: string; id: string; gateway: string; since: number }>(
      `SELECT site, id, gateway, ${ms('comm_error_since')} AS since FROM devices WHERE comm_error_since < ${ts('$1')}`,
      [now - c.commErrorMinutes * 60_000],
    );
    for (const m of meters) {
      found.push({
        site: m.site,
        type: 'meter_comm_error',
        sourceKey: healthSourceKey.meterCommError(m.id),
        gateway: m.gateway,
        device: m.id,
        detail: `meter ${m.id} has answered only communication errors since ${iso(m.since)}`,
        at: m.since,
      });
    }
    const backlogs = await this.db.query<{ site: string; id: string; oldest: number | null; telemetry: number | null; events: number | null }>(
      `SELECT site, id,
              LEAST((streams->'telemetry'->>'oldestPendingTs')::float8, (streams->'events'->>'oldestPendingTs')::float8) AS oldest,
              (streams->'telemetry'->>'backlogEntries')::float8 AS telemetry, (streams->'events'->>'backlogEntries')::float8 AS events
         FROM gateways WHERE streams IS NOT NULL`,
    );
    for (const b of backlogs) {
      if (b.oldest === null || b.oldest >= now - c.backlogMinutes * 60_000) continue;
      found.push({
        site: b.site,
        type: 'backlog_stale',
        sourceKey: healthSourceKey.backlogStale(b.id),
        gateway: b.id,
        device: null,
        detail: `gateway ${b.id} holds undelivered entries since ${iso(b.oldest)} (telemetry ${b.telemetry ?? 0}, events ${b.events ?? 0} waiting)`,
        at: b.oldest,
      });
    }
    // Energy findings still going on (a stuck meter, a leak, a base load risen), sure enough to act on.
    const findings = await this.db.query<{ site: string; device: string; detector: string; gateway: string | null; reason: string; since: number }>(
      `SELECT f.site, f.device, f.detector, d.gateway, f.reason_en AS reason, ${ms('f.start_at')} AS since
         FROM findings f LEFT JOIN devices d ON d.site = f.site AND d.id = f.device
        WHERE f.ongoing AND f.confidence >= $1`,
      [c.energyAnomalyConfidence],
    );
    for (const f of findings) {
      found.push({ site: f.site, type: 'energy_anomaly', sourceKey: healthSourceKey.energyAnomaly(f.device, f.detector), gateway: f.gateway, device: f.device, detail: f.reason, at: f.since });
    }
    return found;
  }

  /** new → acknowledged, and straight on to cleared when the condition has already ended. */
  async acknowledge(id: string, actor: string, note: string, ackType: AckType): Promise<Alarm> {
    const text = cleanNote(note);
    if (text === null) throw new ApiError('GH_BAD_REQUEST', 'an acknowledgement needs a note');
    return this.transition(id, 'acknowledge', async (tx, row, now) => {
      await tx.query(
        `UPDATE alarms SET state = 'acknowledged', acknowledged_at = ${ts('$2')}, acknowledged_by = $3, ack_type = $4, ack_note = $5, updated_at = ${ts('$2')} WHERE id = $1`,
        [row.id, now, actor, ackType, text],
      );
      await auditAlarm(tx, row.site, row.id, { actor, action: 'alarm.acknowledge', fromState: 'new', toState: 'acknowledged', note: text, details: { ackType } });
      if (row.conditionEndedAt !== null) {
        await tx.query(`UPDATE alarms SET state = 'cleared', cleared_at = ${ts('$2')}, cleared_by = 'system' WHERE id = $1`, [row.id, now]);
        await auditAlarm(tx, row.site, row.id, { actor: 'system', action: 'alarm.clear', fromState: 'acknowledged', toState: 'cleared', note: `condition had ended at ${iso(row.conditionEndedAt)}` });
      }
    });
  }

  /** acknowledged → cleared. A new alarm must be acknowledged first: nobody clears what they did not see. */
  async clear(id: string, actor: string, note?: string | null): Promise<Alarm> {
    const text = cleanNote(note);
    return this.transition(id, 'clear', async (tx, row, now) => {
      await tx.query(`UPDATE alarms SET state = 'cleared', cleared_at = ${ts('$2')}, cleared_by = $3, updated_at = ${ts('$2')} WHERE id = $1`, [row.id, now, actor]);
      await auditAlarm(tx, row.site, row.id, { actor, action: 'alarm.clear', fromState: row.state, toState: 'cleared', note: text });
    });
  }

  /** acknowledged or cleared → closed; a later occurrence of its source raises a new alarm. */
  async close(id: string, actor: string, note?: string | null): Promise<Alarm> {
    const text = cleanNote(note);
    return this.transition(id, 'close', async (tx, row, now) => {
      await tx.query(`UPDATE alarms SET state = 'closed', closed_at = ${ts('$2')}, closed_by = $3, updated_at = ${ts('$2')} WHERE id = $1`, [row.id, now, actor]);
      await auditAlarm(tx, row.site, row.id, { actor, action: 'alarm.close', fromState: row.state, toState: 'closed', note: text });
    });
  }

  private async transition(
    id: string,
    name: TransitionName,
    apply: (tx: SqlExecutor, row: { id: string; site: string; state: AlarmState; conditionEndedAt: number | null }, now: number) => Promise<void>,
  ): Promise<Alarm> {
    const alarmId = parseAlarmId(id);
    if (!alarmId) throw new ApiError('GH_NOT_FOUND', `no alarm ${id}`);
    return this.db.transaction(async (tx) => {
      await lockLiveFeed(tx);
      const [row] = await tx.query<{ id: string; site: string; state: AlarmState; conditionEndedAt: number | null }>(
        `SELECT id::text AS id, site, state, ${ms('condition_ended_at')} AS "conditionEndedAt" FROM alarms WHERE id = $1 FOR UPDATE`,
        [alarmId],
      );
      if (!row) throw new ApiError('GH_NOT_FOUND', `no alarm ${id}`);
      const refusal = transitionRefusal(name, row.state);
      if (refusal) throw new ApiError('GH_BAD_TRANSITION', `alarm ${id} is ${row.state}: ${refusal}`);
      await apply(tx, row, this.now());
      const [alarm] = await pushAlarms(tx, [row.id]);
      return alarm!;
    });
  }

  /** The site of an alarm (to check the caller may see it), or undefined when there is no such alarm. */
  async siteOf(id: string): Promise<string | undefined> {
    const alarmId = parseAlarmId(id);
    if (!alarmId) return undefined;
    const rows = await this.db.query<{ site: string }>('SELECT site FROM alarms WHERE id = $1', [alarmId]);
    return rows[0]?.site;
  }

  /** Alarms by priority (1 first), then newest occurrence first; pages with an opaque cursor. */
  async list(filter: AlarmFilter): Promise<{ alarms: Alarm[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (filter.sites !== '*') add((p) => `a.site = ANY(${p}::text[])`, [...filter.sites]);
    add((p) => `a.state = ANY(${p}::text[])`, [...(filter.states ?? OPEN_STATES)]);
    if (filter.priorities && filter.priorities.length > 0) add((p) => `a.priority = ANY(${p}::int[])`, [...filter.priorities]);
    if (filter.cursor !== undefined) {
      const c = decodeCursor(filter.cursor);
      params.push(c.priority, c.lastAt, c.id);
      const [p, t, i] = [params.length - 2, params.length - 1, params.length].map((n) => `$${n}`);
      where.push(`(a.priority > ${p}::int OR (a.priority = ${p}::int AND (a.last_at < ${t}::timestamptz OR (a.last_at = ${t}::timestamptz AND a.id < ${i}::bigint))))`);
    }
    params.push(filter.limit + 1);
    const rows = await this.db.query<{ id: string; priority: number; cursorAt: string }>(
      `SELECT a.id::text AS id, a.priority, to_char(a.last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"
         FROM alarms a WHERE ${where.join(' AND ')} ORDER BY a.priority, a.last_at DESC, a.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, filter.limit);
    const byId = new Map((await selectAlarms(this.db, 'a.id = ANY($1::bigint[])', [page.map((r) => r.id)])).map((a) => [a.id, a]));
    const last = page.at(-1);
    return {
      alarms: page.map((r) => byId.get(r.id)).filter((a): a is Alarm => a !== undefined),
      nextCursor: rows.length > filter.limit && last ? encodeCursor({ priority: last.priority, lastAt: last.cursorAt, id: last.id }) : null,
    };
  }

  /** One alarm with its history, notifications and the events around it. */
  async get(id: string): Promise<AlarmDetail | undefined> {
    const alarmId = parseAlarmId(id);
    if (!alarmId) return undefined;
    const alarm = await loadAlarm(this.db, alarmId);
    if (!alarm) return undefined;
    const history = (await auditLog.list(this.db, { sites: '*', targetType: 'alarm', targetId: alarm.id, limit: 1000 })).reverse();
    const notifications = await this.db.query<AlarmNotification>(
      `SELECT id::text AS id, level, channel, target, status, attempts, last_error AS "lastError", ${ms('created_at')} AS "createdAt",
              ${ms('next_attempt_at')} AS "nextAttemptAt", ${ms('sent_at')} AS "sentAt"
         FROM alarm_notifications WHERE alarm_id = $1 ORDER BY level, id`,
      [alarm.id],
    );
    return { ...alarm, history, notifications: notifications.map((n) => (n.channel === 'webhook' ? { ...n, target: redactUrl(n.target) } : n)), recentEvents: await this.recentEvents(alarm) };
  }

  private async recentEvents(alarm: Alarm): Promise<AlarmEvent[]> {
    let where: string;
    let params: unknown[];
    if (alarm.device !== null) {
      where = alarm.point !== null ? 'e.site = $1 AND e.device = $2 AND e.point = $3' : 'e.site = $1 AND e.device = $2';
      params = alarm.point !== null ? [alarm.site, alarm.device, alarm.point] : [alarm.site, alarm.device];
    } else if (alarm.gateway !== null) {
      where = 'e.site = $1 AND e.gateway = $2';
      params = [alarm.site, alarm.gateway];
    } else {
      return [];
    }
    const rows = await this.db.query<StoredEvent>(
      `SELECT e.site, e.gateway, e.id, e.device, e.type, ${ms('e.ts')} AS ts, e.point, e.credential, e.reason,
              (SELECT count(*)::int FROM event_attachments x WHERE x.site = e.site AND x.gateway = e.gateway AND x.event_id = e.id) AS attachments
         FROM events e WHERE ${where} ORDER BY e.ts DESC, e.id DESC LIMIT 20`,
      params,
    );
    return rows.map((e) => ({ ...e, attachmentUrls: attachmentUrls(e.site, e.gateway, e.id, e.attachments) }));
  }
}

/** A note as stored: trimmed, at most 1000 characters, null when empty. Plain text, never interpreted. */
export function cleanNote(note: string | null | undefined): string | null {
  const text = (note ?? '').trim();
  if (text.length > MAX_NOTE) throw new ApiError('GH_BAD_REQUEST', `a note is at most ${MAX_NOTE} characters`);
  return text.length > 0 ? text : null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function eventDetails(o: Occurrence): Record<string, unknown> | null {
  return o.event ? { eventGateway: o.event.gateway, eventId: o.event.id, at: o.at } : { at: o.at };
}

function healthEndNote(sourceKey: string): string {
  if (sourceKey.startsWith('gateway_offline:')) return 'the gateway is heard from again';
  if (sourceKey.startsWith('meter_comm_error:')) return 'the meter answers again';
  if (sourceKey.startsWith('energy_anomaly:')) return 'the energy finding has ended';
  return 'the journal has drained';
}

interface Cursor {
  priority: number;
  /** last_at as ISO text with microseconds: compared exactly */
  lastAt: string;
  id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.priority, c.lastAt, c.id])).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const [priority, lastAt, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (typeof priority === 'number' && Number.isInteger(priority) && priority >= 1 && priority <= 4 && typeof lastAt === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(lastAt) && Number.isFinite(Date.parse(lastAt)) && typeof id === 'string' && parseAlarmId(id)) {
      return { priority, lastAt, id };
    }
  } catch {
    // falls through to the error below
  }
  throw new ApiError('GH_BAD_REQUEST', 'querystring.cursor: not a cursor this API gave out');
}
