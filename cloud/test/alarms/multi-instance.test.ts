import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '@gatehouse/contracts';
import { createPostgresClient, EventStore, migrate, type SqlClient } from '../../src/index.js';
import { AlarmEscalator, AlarmNotifier, AlarmService, type AlarmsConfigInput } from '../../src/alarms/index.js';
import { createTestDatabase } from '../../../test/support/real-services.js';
import { GW, silent, SITE, TestClock } from './alarm-fixtures.js';

const SECRET = 'another-webhook-secret-1234';

/** One cloud instance's alarm engine, on its own connection pool. */
interface Instance {
  db: SqlClient;
  events: EventStore;
  alarms: AlarmService;
  escalator: AlarmEscalator;
  notifier: AlarmNotifier;
}

describe('two cloud instances on one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: Instance;
  let b: Instance;
  let server: Server;
  const received: string[] = [];
  const clock = new TestClock(Date.now());

  beforeAll(async () => {
    database = await createTestDatabase('gh_alarms');
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alarm: { id: string }; level: number };
        received.push(`${body.alarm.id}/${body.level}${req.url}`);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config: AlarmsConfigInput = {
      escalation: [{ priority: 4, unacknowledgedAfterSeconds: 60, webhooks: [{ url: `${base}/one`, secret: SECRET }, { url: `${base}/two`, secret: SECRET }] }],
    };
    const instance = async (): Promise<Instance> => {
      const db = createPostgresClient({ connectionString: database.url, maxConnections: 8 });
      await migrate(db);
      const events = new EventStore(db);
      const alarms = new AlarmService({ db, config, logger: silent, now: clock.now });
      alarms.attach(events);
      return { db, events, alarms, escalator: new AlarmEscalator({ db, config, logger: silent, now: clock.now }), notifier: new AlarmNotifier({ db, config, logger: silent, now: clock.now }) };
    };
    [a, b] = await Promise.all([instance(), instance()]);
    await a.db.query('INSERT INTO sites (id) VALUES ($1)', [SITE]);
  });

  afterAll(async () => {
    for (const i of [a, b]) {
      i?.notifier.close();
      await i?.db.close();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database?.drop();
  });

  it('raises exactly one alarm per source from the same events stored by both, counting each event once', async () => {
    const t = clock.t - 600_000;
    const doors = Array.from({ length: 12 }, (_, i) => `door-${i}`);
    const all: DeviceEvent[] = doors.flatMap((device, d) => Array.from({ length: 5 }, (_, k) => ({ id: `f-${d}-${k}`, device, type: 'door_forced_open' as const, ts: t + k * 1000 + d })));
    const batches = Array.from({ length: 6 }, (_, i) => all.slice(i * 10, i * 10 + 10));
    // Both instances get every batch (a redelivery), in opposite orders, at the same time.
    await Promise.all([
      (async () => {
        for (const batch of batches) await a.events.write(GW, batch);
      })(),
      (async () => {
        for (const batch of [...batches].reverse()) await b.events.write(GW, batch);
      })(),
    ]);
    const rows = await a.db.query<{ source_key: string; n: number; occurrences: number; raises: number }>(
      `SELECT source_key, count(*)::int AS n, max(occurrences) AS occurrences,
              (SELECT count(*)::int FROM audit_log l WHERE l.action = 'alarm.raise' AND l.target_id = ANY(array_agg(al.id::text))) AS raises
         FROM alarms al GROUP BY source_key ORDER BY source_key`,
    );
    expect(rows).toHaveLength(doors.length);
    expect(rows.every((r) => r.n === 1 && r.occurrences === 5 && r.raises === 1)).toBe(true);

    // Doors closing on one instance while guards acknowledge on the other: no deadlock, and every
    // alarm ends cleared whichever came first.
    const ids = (await a.db.query<{ id: string }>('SELECT id::text AS id FROM alarms ORDER BY id')).map((r) => r.id);
    await Promise.all([
      (async () => {
        for (const [d, device] of doors.entries()) await a.events.write(GW, [{ id: `c-${d}`, device, type: 'door_closed', ts: t + 10_000 }]);
      })(),
      Promise.all(ids.map((id) => b.alarms.acknowledge(id, 'guard.li', 'checked', 'genuine'))),
    ]);
    expect(await a.db.query('SELECT DISTINCT state, cleared_by FROM alarms')).toEqual([{ state: 'cleared', cleared_by: 'system' }]);
    for (const id of ids) await a.alarms.close(id, 'guard.li');
  });

  it('raises a health alarm once however many checks run at once on both', async () => {
    await a.db.query("INSERT INTO gateways (site, id, status, last_seen) VALUES ($1, 'gw-quiet', 'online', to_timestamp($2 / 1000.0))", [SITE, clock.t - 3_600_000]);
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([...Array.from({ length: 4 }, () => a.alarms.checkHealth()), ...Array.from({ length: 4 }, () => b.alarms.checkHealth())]);
      expect(results.reduce((n, r) => n + r.raised, 0)).toBe(round === 0 ? 1 : 0);
    }
    const rows = await a.db.query<{ id: string; occurrences: number; state: string }>("SELECT id::text AS id, occurrences, state FROM alarms WHERE source_key = 'gateway_offline:gw-quiet'");
    expect(rows).toMatchObject([{ occurrences: 1, state: 'new' }]);
    expect(await a.db.query("SELECT action FROM audit_log WHERE target_type = 'alarm' AND target_id = $1", [rows[0]!.id])).toEqual([{ action: 'alarm.raise' }]);
  });

  it('escalates each level once and sends each notification once, with both instances at it', async () => {
    await a.events.write(GW, [{ id: 'fault-1', device: 'cam-1', type: 'device_fault', ts: clock.t }, { id: 'fault-2', device: 'cam-2', type: 'device_fault', ts: clock.t }]);
    clock.advance(61_000);
    const escalated = await Promise.all([...Array.from({ length: 3 }, () => a.escalator.run()), ...Array.from({ length: 3 }, () => b.escalator.run())]);
    const waiting = await a.db.query<{ id: string }>("SELECT id::text AS id FROM alarms WHERE state = 'new' ORDER BY id");
    expect(waiting).toHaveLength(3); // the gateway and the two cameras
    expect(escalated.reduce((n, x) => n + x, 0)).toBe(3);
    expect(await a.db.query('SELECT alarm_id::text AS id, count(*)::int AS n FROM alarm_notifications GROUP BY alarm_id ORDER BY alarm_id')).toEqual(waiting.map((w) => ({ id: w.id, n: 2 })));

    const rounds = await Promise.all([...Array.from({ length: 3 }, () => a.notifier.sendDue()), ...Array.from({ length: 3 }, () => b.notifier.sendDue())]);
    expect(rounds.reduce((n, r) => n + r.sent, 0)).toBe(6);
    expect([...received].sort()).toEqual(waiting.flatMap((w) => [`${w.id}/1/one`, `${w.id}/1/two`]).sort());
    expect(await a.db.query("SELECT DISTINCT status, attempts FROM alarm_notifications")).toEqual([{ status: 'sent', attempts: 1 }]);
  });
});
