import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import { AlarmService, createPostgresClient, type SqlClient } from '@gatehouse/cloud';
import { decodeRecordAt, resynchronise } from '@gatehouse/edge';

/**
 * A guard at the console: every `everyMs` acknowledges and closes the open door_forced_open alarms,
 * through the alarm engine itself, so that the next forced door raises a new alarm (one of the two cloud
 * instances inserts it, the other must count on it). Refused transitions and lost connections are
 * simply tried again at the next round.
 */
export class AlarmGuard {
  closed = 0;
  private readonly db: SqlClient;
  private readonly alarms: AlarmService;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();

  constructor(connectionString: string, logger: Logger) {
    this.db = createPostgresClient({ connectionString, maxConnections: 2 });
    this.alarms = new AlarmService({ db: this.db, config: {}, logger });
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.round = this.round.then(() => this.closeOpen()).catch(() => undefined);
    }, everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
    await this.db.close();
  }

  private async closeOpen(): Promise<void> {
    const open = await this.db.query<{ id: string; state: string }>("SELECT id::text AS id, state FROM alarms WHERE type = 'door_forced_open' AND state <> 'closed'");
    for (const alarm of open) {
      try {
        if (alarm.state === 'new') await this.alarms.acknowledge(alarm.id, 'chaos-guard', 'forced by the chaos suite', 'test');
        await this.alarms.close(alarm.id, 'chaos-guard', 'chaos round over');
        this.closed++;
      } catch {
        // raised again, moved on, or the database connection was cut: the next round sees
      }
    }
  }
}

/** door_forced_open events in a gateway's events journal (dataDir/journal/events), by event id: their time. */
export function readJournaledForcedDoors(dataDir: string): Map<string, number> {
  const dir = join(dataDir, 'journal', 'events');
  const found = new Map<string, number>();
  if (!existsSync(dir)) return found;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()) {
    const data = readFileSync(join(dir, file));
    let offset = 0;
    while (offset < data.length) {
      const outcome = decodeRecordAt(data, offset);
      if (outcome.kind !== 'record') {
        const next = resynchronise(data, offset + 1);
        if (next < 0) break;
        offset = next;
        continue;
      }
      const payload = data.subarray(outcome.payloadOffset, outcome.payloadOffset + outcome.header.length).toString('utf8');
      const event = JSON.parse(payload) as { id: string; type: string; ts: number };
      // An event journaled again with its pictures has the same id.
      if (event.type === 'door_forced_open') found.set(event.id, event.ts);
      offset = outcome.next;
    }
  }
  return found;
}

export interface AlarmFigures {
  /** alarms by type, closed or not */
  alarmsByType: Record<string, number>;
  /** (site, source_key) pairs with more than one alarm that is not closed */
  duplicateOpen: number;
  doorForcedAlarms: number;
  doorForcedAlarmsNotClosed: number;
  /** door_forced_open events stored, and their times */
  doorForcedStored: number;
  doorForcedStoredTs: number[];
  doorForcedStoredIds: string[];
  /** sum of occurrences of the door_forced_open alarms */
  doorForcedOccurrences: number;
  /** stored door_forced_open events no alarm counted, by the audit trail of the alarms */
  doorForcedNotCounted: number;
  /** stored door_forced_open events counted more than once */
  doorForcedCountedTwice: number;
  /** occurrences counted for events that are not stored */
  doorForcedCountedUnknown: number;
}

/** What the database says about the alarms at the end of a run. */
export async function alarmFigures(db: pg.Client): Promise<AlarmFigures> {
  const byType = await db.query<{ type: string; n: number }>('SELECT type, count(*)::int AS n FROM alarms GROUP BY type ORDER BY type');
  const duplicate = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM (SELECT site, source_key FROM alarms WHERE state <> 'closed' GROUP BY site, source_key HAVING count(*) > 1) d",
  );
  const door = await db.query<{ alarms: number; notClosed: number; occurrences: number }>(
    `SELECT count(*)::int AS alarms, (count(*) FILTER (WHERE state <> 'closed'))::int AS "notClosed", COALESCE(sum(occurrences), 0)::int AS occurrences
       FROM alarms WHERE type = 'door_forced_open'`,
  );
  const events = await db.query<{ id: string; ts: number }>(
    "SELECT id, (extract(epoch from ts) * 1000)::float8 AS ts FROM events WHERE type = 'door_forced_open' ORDER BY ts",
  );
  // Every occurrence (raise, repeat, reoccur) writes an audit line naming its event, in the transaction
  // that stores the event: each stored event must be named exactly once.
  const audit = await db.query<{ notCounted: number; countedTwice: number; countedUnknown: number }>(
    `WITH counted AS (
       SELECT l.site, l.details->>'eventGateway' AS gateway, l.details->>'eventId' AS id, count(*) AS n
         FROM audit_log l JOIN alarms a ON a.id::text = l.target_id
        WHERE l.target_type = 'alarm' AND l.action IN ('alarm.raise', 'alarm.repeat', 'alarm.reoccur') AND a.type = 'door_forced_open'
        GROUP BY 1, 2, 3),
     stored AS (SELECT site, gateway, id FROM events WHERE type = 'door_forced_open')
     SELECT (SELECT count(*) FROM stored s WHERE NOT EXISTS (SELECT 1 FROM counted c WHERE (c.site, c.gateway, c.id) = (s.site, s.gateway, s.id)))::int AS "notCounted",
            (SELECT count(*) FROM counted WHERE n > 1)::int AS "countedTwice",
            (SELECT count(*) FROM counted c WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE (c.site, c.gateway, c.id) = (s.site, s.gateway, s.id)))::int AS "countedUnknown"`,
  );
  const d = door.rows[0]!;
  const a = audit.rows[0]!;
  return {
    alarmsByType: Object.fromEntries(byType.rows.map((r) => [r.type, r.n])),
    duplicateOpen: duplicate.rows[0]?.n ?? 0,
    doorForcedAlarms: d.alarms,
    doorForcedAlarmsNotClosed: d.notClosed,
    doorForcedStored: events.rows.length,
    doorForcedStoredTs: events.rows.map((r) => r.ts),
    doorForcedStoredIds: events.rows.map((r) => r.id),
    doorForcedOccurrences: d.occurrences,
    doorForcedNotCounted: a.notCounted,
    doorForcedCountedTwice: a.countedTwice,
    doorForcedCountedUnknown: a.countedUnknown,
  };
}
