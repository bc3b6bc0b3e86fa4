import { pino } from 'pino';
import type { DeviceEvent } from '@gatehouse/contracts';
import { createPgliteClient, migrate, type SqlClient } from '../../src/index.js';

export const SITE = 'sunrise';
export const GW = { site: SITE, gateway: 'gw-01' };
export const silent = pino({ level: 'silent' });
/** A tiny JPEG-looking picture, as a gateway attaches it. */
export const PICTURE = { camera: 'cam-lobby', contentType: 'image/jpeg' as const, dataBase64: Buffer.from([0xff, 0xd8, 0xff, 0xd9]).toString('base64') };

/** A clock the alarm engine reads; tests move it instead of waiting. */
export class TestClock {
  constructor(public t: number) {}
  readonly now = () => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

export async function migratedPglite(): Promise<SqlClient> {
  const db = await createPgliteClient(undefined);
  await migrate(db);
  return db;
}

let serial = 0;
export function ev(type: DeviceEvent['type'], ts: number, extra: Partial<DeviceEvent> = {}): DeviceEvent {
  return { id: `e-${++serial}`, device: 'door-1', type, ts, ...extra };
}

/** The alarm rows of a source key, whatever their state. */
export async function alarmsOf(db: SqlClient, sourceKey: string): Promise<{ id: string; state: string; occurrences: number }[]> {
  return db.query('SELECT id::text AS id, state, occurrences FROM alarms WHERE source_key = $1 ORDER BY id', [sourceKey]);
}

/** Audit lines of an alarm, oldest first: [action, from, to, actor]. */
export async function auditOf(db: SqlClient, id: string): Promise<[string, string | null, string | null, string][]> {
  const rows = await db.query<{ action: string; from_state: string | null; to_state: string | null; actor: string }>(
    "SELECT action, from_state, to_state, actor FROM audit_log WHERE target_type = 'alarm' AND target_id = $1 ORDER BY id",
    [id],
  );
  return rows.map((r) => [r.action, r.from_state, r.to_state, r.actor]);
}

/** The id of the open (not closed) alarm of a source; fails the test when there is none. */
export async function openAlarmId(db: SqlClient, sourceKey: string): Promise<string> {
  const open = (await alarmsOf(db, sourceKey)).filter((a) => a.state !== 'closed');
  if (open.length !== 1) throw new Error(`expected one open alarm of ${sourceKey}, found ${open.length}`);
  return open[0]!.id;
}
