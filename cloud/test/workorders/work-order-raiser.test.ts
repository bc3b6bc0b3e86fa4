import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WorkCalendar } from '../../src/detection/work-calendar.js';
import { createPostgresClient, type SqlClient } from '../../src/storage/sql-client.js';
import { migrate } from '../../src/storage/migrations.js';
import { WorkOrderRaiser, WorkOrderService, type WorkOrdersConfigInput } from '../../src/workorders/index.js';
import { createTestDatabase } from '../../../test/support/real-services.js';
import { silent } from '../alarms/alarm-fixtures.js';
import { seedSites } from './work-order-fixtures.js';

// Findings and lasting faults become work orders by the rules, each counted once, one active order per
// asset and problem, even with two cloud instances raising at the same time (the machine's PostgreSQL).
const CONFIG: WorkOrdersConfigInput = {
  language: 'en',
  teams: [{ id: 'maintenance', name: 'Maintenance' }, { id: 'security-tech', name: 'Security systems' }],
  rules: [
    { findings: ['leak'], category: 'plumbing', priority: 2, team: 'maintenance' },
    { findings: ['stuck'], commodities: ['water'], category: 'plumbing', priority: 3, team: 'maintenance' },
    { findings: ['stuck', 'base_load'], minConfidence: 0.9, category: 'electrical', priority: 3, team: 'maintenance' },
    { faults: ['device_offline'], faultAfterMinutes: 30, category: 'security', priority: 2, team: 'security-tech' },
  ],
};

describe('work orders raised from findings and faults', () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: SqlClient;
  let raiser: WorkOrderRaiser;

  beforeAll(async () => {
    database = await createTestDatabase('gh_wo_raise');
    db = createPostgresClient({ connectionString: database.url });
    await migrate(db);
    await seedSites(db);
    await db.execute(`INSERT INTO gateways (site, id) VALUES ('sunrise', 'gw-01')`);
    await db.execute(`INSERT INTO devices (site, id, gateway, name) VALUES ('sunrise', 'water-b1', 'gw-01', 'Tower 1 water'), ('sunrise', 'meter-7', 'gw-01', NULL), ('sunrise', 'reader-3', 'gw-01', 'Car park reader')`);
    await db.execute(`INSERT INTO asset_devices (site, asset, device) VALUES ('sunrise', 'pump-1', 'water-b1')`);
    raiser = new WorkOrderRaiser(db, new WorkOrderService({ db, config: CONFIG, calendar: WorkCalendar.china(), logger: silent }), silent);
  });

  beforeEach(async () => {
    await db.execute('TRUNCATE work_orders, work_order_sources, work_order_events, findings, alarms CASCADE');
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const HOUR = 3_600_000;
  let findingStart = Date.now() - 50 * HOUR;
  const finding = async (device: string, detector: string, options: { confidence?: number; ongoing?: boolean; unit?: string } = {}) => {
    findingStart += HOUR;
    const unit = options.unit ?? 'm3';
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO findings (site, device, metric, detector, start_at, end_at, ongoing, unit, commodity, actual, expected, excess, cost_cny, confidence, reason_en, reason_zh, evidence)
       VALUES ('sunrise', $1, 'volume', $2, to_timestamp($3 / 1000.0), to_timestamp($3 / 1000.0 + 3600), $4, $5, $6, 12, 2, 10, 52, $7, $8, $9, '{"from": 0, "step": 900000, "actual": [1, 2]}')
       RETURNING id::text AS id`,
      [device, detector, findingStart, options.ongoing ?? true, unit, unit === 'm3' ? 'water' : 'electricity', options.confidence ?? 0.95, `${device} ${detector} in English`, `${device} ${detector} 中文`],
    );
    return row!.id;
  };
  const alarm = async (device: string, minutesAgo: number) => {
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO alarms (site, source_key, type, priority, device, first_at, last_at, raised_at)
       VALUES ('sunrise', 'device_offline:' || $1, 'device_offline', 3, $1, now() - make_interval(mins => $2), now(), now() - make_interval(mins => $2)) RETURNING id::text AS id`,
      [device, minutesAgo],
    );
    return row!.id;
  };
  const orders = () =>
    db.query<{ title: string; category: string; priority: number; team: string; origin: string; source_key: string; asset: string | null; occurrences: number; cleared: boolean; state: string; evidence: Record<string, unknown>; checklist: unknown[] }>(
      `SELECT title, category, priority, team, origin, source_key, asset, occurrences, condition_cleared_at IS NOT NULL AS cleared, state, evidence, checklist FROM work_orders ORDER BY id`,
    );

  it('raises an order from a finding with its evidence, counts the next finding of the same problem on it, and notes when all have ended', async () => {
    const first = await finding('water-b1', 'leak');
    expect(await raiser.run()).toEqual({ raised: 1, occurrences: 0, cleared: 0 });
    let [order] = await orders();
    expect(order).toMatchObject({
      title: 'Water leak suspected: Tower 1 water (water-b1)',
      category: 'plumbing',
      priority: 2,
      team: 'maintenance',
      origin: 'finding',
      source_key: 'finding:water-b1:leak',
      asset: 'pump-1',
      occurrences: 1,
      cleared: false,
      state: 'open',
    });
    expect(order!.evidence).toMatchObject({ kind: 'finding', findingId: first, detector: 'leak', excess: 10, costCny: 52, chart: { from: 0, step: 900000, actual: [1, 2] } });
    expect(order!.checklist).toHaveLength(3);
    // Nothing new: nothing happens, however often it looks.
    expect(await raiser.run()).toEqual({ raised: 0, occurrences: 0, cleared: 0 });
    // The leak ends, then comes back as a new finding: one order, two occurrences, no longer cleared.
    await db.execute('UPDATE findings SET ongoing = false WHERE id = $1', [first]);
    expect(await raiser.run()).toEqual({ raised: 0, occurrences: 0, cleared: 1 });
    expect((await orders())[0]!.cleared).toBe(true);
    await finding('water-b1', 'leak');
    expect(await raiser.run()).toEqual({ raised: 0, occurrences: 1, cleared: 0 });
    [order] = await orders();
    expect(order).toMatchObject({ occurrences: 2, cleared: false });
    const history = await db.query<{ kind: string }>('SELECT kind FROM work_order_events ORDER BY id');
    expect(history.map((h) => h.kind)).toEqual(['created', 'condition_cleared', 'occurrence']);
  });

  it('follows the rules: the first that matches the detector, commodity and confidence; nothing for findings no rule names', async () => {
    await finding('water-b1', 'stuck');
    await finding('meter-7', 'stuck', { unit: 'kWh', confidence: 0.85 });
    await finding('meter-7', 'base_load', { unit: 'kWh', confidence: 0.97 });
    await finding('meter-7', 'spike', { unit: 'kWh' });
    expect(await raiser.run()).toMatchObject({ raised: 2 });
    expect((await orders()).map((o) => [o.source_key, o.category])).toEqual([
      ['finding:water-b1:stuck', 'plumbing'],
      ['finding:meter-7:base_load', 'electrical'],
    ]);
  });

  it('raises an order for a fault once it has lasted the rule’s time, and none for one that ended sooner', async () => {
    await alarm('reader-3', 10);
    expect((await raiser.run()).raised).toBe(0);
    await db.execute(`UPDATE alarms SET raised_at = now() - interval '45 minutes'`);
    expect((await raiser.run()).raised).toBe(1);
    const [order] = await orders();
    expect(order).toMatchObject({ title: 'Device offline: Car park reader (reader-3)', category: 'security', team: 'security-tech', origin: 'fault', source_key: 'fault:reader-3:device_offline' });
    // The reader is back: the order says so, and stays for a person to close.
    await db.execute(`UPDATE alarms SET condition_ended_at = now()`);
    expect((await raiser.run()).cleared).toBe(1);
    expect((await orders())[0]).toMatchObject({ cleared: true, state: 'open' });
    // A short outage that ended before the rule's 30 minutes raises nothing.
    await db.execute(`INSERT INTO alarms (site, source_key, type, priority, device, first_at, last_at, raised_at, condition_ended_at)
      VALUES ('sunrise', 'device_offline:meter-7', 'device_offline', 3, 'meter-7', now() - interval '2 hours', now(), now() - interval '2 hours', now() - interval '110 minutes')`);
    expect((await raiser.run()).raised).toBe(0);
  });

  it('a completed order does not take new occurrences: the problem coming back raises a new order', async () => {
    const first = await finding('water-b1', 'leak');
    await raiser.run();
    await db.execute(`UPDATE work_orders SET state = 'completed', completed_at = now()`);
    await db.execute('UPDATE findings SET ongoing = false WHERE id = $1', [first]);
    await finding('water-b1', 'leak');
    expect(await raiser.run()).toMatchObject({ raised: 1, occurrences: 0 });
    expect((await orders()).map((o) => [o.state, o.occurrences])).toEqual([['completed', 1], ['open', 1]]);
  });

  it('two cloud instances raising at once: one order per problem, every finding counted once', async () => {
    const second = createPostgresClient({ connectionString: database.url });
    try {
      const other = new WorkOrderRaiser(second, new WorkOrderService({ db: second, config: CONFIG, calendar: WorkCalendar.china(), logger: silent }), silent);
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 4; i++) await finding('water-b1', 'leak');
        await finding('meter-7', 'base_load', { unit: 'kWh' });
        const [a, b] = await Promise.all([raiser.run(), other.run()]);
        expect(a.raised + b.raised).toBe(round === 0 ? 2 : 0);
        expect(a.occurrences + b.occurrences).toBe(round === 0 ? 3 : 5);
      }
      expect((await orders()).map((o) => [o.source_key, o.occurrences])).toEqual([
        ['finding:water-b1:leak', 20],
        ['finding:meter-7:base_load', 5],
      ]);
      const [sources] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM work_order_sources');
      expect(sources!.n).toBe(25);
    } finally {
      await second.close();
    }
  });

  it('writes the orders in the facilities team’s language (Chinese by default)', async () => {
    const chinese = new WorkOrderRaiser(db, new WorkOrderService({ db, config: { ...CONFIG, language: undefined }, calendar: WorkCalendar.china(), logger: silent }), silent);
    await finding('water-b1', 'leak');
    await chinese.run();
    const [order] = await db.query<{ title: string; description: string; checklist: { text: string }[] }>('SELECT title, description, checklist FROM work_orders');
    expect(order!.title).toBe('疑似漏水: Tower 1 water (water-b1)');
    expect(order!.description.split('\n')).toEqual(['water-b1 leak 中文', 'water-b1 leak in English']);
    expect(order!.checklist[0]!.text).toBe('夜间关闭所有用水点后抄表');
  });
});
