import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/roles.js';
import { WorkCalendar } from '../../src/detection/work-calendar.js';
import { openTimeSeriesStore } from '../../src/storage/open-time-series-store.js';
import { SiteRegistry } from '../../src/storage/site-registry.js';
import type { SqlClient } from '../../src/storage/sql-client.js';
import type { TimeSeriesStore } from '../../src/storage/time-series-store.js';
import { AssetLedger, MaintenancePlans, registerLedgerRoutes, WorkOrderService, type UsageReader } from '../../src/workorders/index.js';
import { silent } from '../alarms/alarm-fixtures.js';
import { openTestDatabase, routeHarness } from '../route-harness.js';
import { seedSites, WO_CONFIG } from './work-order-fixtures.js';

// The equipment ledger and preventive plans on the machine's PostgreSQL: plans on the calendar and on
// a meter's usage, across restarts (new instances on the same database), while the service was down,
// with two instances at once; the ledger's details, documents and history; and the refusals.

const FACILITIES: Principal = { kind: 'session', username: 'mgr.sun', displayName: null, roles: ['facilities'], sites: '*' };
const SITE = 'sunrise';
const GATEWAY = { site: SITE, gateway: 'gw-1' };
/** Midnight of a date in Shanghai (the site's zone), plus hours. */
const at = (date: string, hours = 0) => Date.parse(`${date}T00:00:00+08:00`) + hours * 3_600_000;

describe('equipment ledger and maintenance plans (PostgreSQL)', () => {
  let db: SqlClient;
  let close: () => Promise<void>;
  let timeSeries: TimeSeriesStore;
  let app: FastifyInstance;
  let clock = at('2026-03-01', 9);
  const now = () => clock;
  let orders: WorkOrderService;
  const readUsage: UsageReader = async (site, device, metric) => (await timeSeries.latest(site, device)).find((r) => r.metric === metric)?.value ?? undefined;
  /** A cloud instance's plan scheduler, as a fresh start would make it. */
  const instance = () => new MaintenancePlans(db, orders, readUsage, silent, now);
  let plans: MaintenancePlans;

  const declareSite = (extraAssets: { id: string; kind: string; make?: string; model?: string }[] = []) =>
    new SiteRegistry(db).declareSite({
      id: SITE,
      timeZone: 'Asia/Shanghai',
      buildings: [{ id: 'b1' }],
      assets: [
        { id: 'lift-1', name: 'Tower 1 lift A', kind: 'lift', building: 'b1', make: 'Otis', model: 'Gen2', serialNo: 'OT-2019-0815', installedOn: '2019-08-15', warrantyUntil: '2024-08-14' },
        { id: 'pump-1', kind: 'pump', building: 'b1', devices: ['pump-meter'] },
        { id: 'fire-panel', kind: 'fire_equipment', building: 'b1' },
        ...extraAssets,
      ],
    });

  const writeCounter = (kwh: number, ts = clock) =>
    timeSeries.write(GATEWAY, [{ device: 'pump-meter', metric: 'import_energy', unit: 'kWh', kind: 'counter', ts, value: kwh, quality: 'good' }]);

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase('postgres'));
    timeSeries = await openTimeSeriesStore(db);
    await seedSites(db);
    const registry = new SiteRegistry(db);
    await registry.recordGatewayState(GATEWAY, { status: 'online', devices: [{ id: 'pump-meter', kind: 'meter', driver: 'modbus+tcp' }] });
    await declareSite();
    orders = new WorkOrderService({ db, config: { ...WO_CONFIG, language: 'en' }, calendar: WorkCalendar.china(), logger: silent, now });
    plans = instance();
    const ledger = new AssetLedger(db, (sites) => plans.nextDueByAsset(sites));
    app = await routeHarness((api) => registerLedgerRoutes(api, { ledger, plans, orders }), FACILITIES);
  });

  afterAll(async () => {
    await app?.close();
    await timeSeries?.close();
    await close?.();
  });

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
  const patch = (url: string, payload: unknown) => app.inject({ method: 'PATCH', url, payload: payload as object });
  const getPlan = async (id: string) => (await app.inject({ url: `/api/v1/maintenance-plans/${id}` })).json() as {
    nextDueOn: string | null;
    raiseOn: string | null;
    usageProgress: { since: number | null; every: number; current: number | null } | null;
    occurrences: { dueOn: string; trigger: string; outcome: string; orderId: string | null; reason: string | null; actor: string }[];
    upcoming: string[];
  };
  const planOrders = async (planId: string) =>
    db.query<{ id: string; title: string; state: string; origin: string; description: string; resolution: number; checklist: unknown[] }>(
      `SELECT id::text AS id, title, state, origin, description, (extract(epoch from resolution_due_at) * 1000)::float8 AS resolution, checklist
         FROM work_orders WHERE source_key LIKE $1 ORDER BY id`,
      [`plan:${planId}:%`],
    );
  const complete = async (orderId: string) => {
    await orders.act(orderId, 'assign', 'mgr.sun', { assignee: 'tech.zhao' });
    await orders.act(orderId, 'start', 'tech.zhao', {});
    await orders.act(orderId, 'complete', 'tech.zhao', {});
  };

  let liftPlan: string;

  it('raises a lift plan’s order its lead days before the date, once, across a restart', async () => {
    const res = await post('/api/v1/maintenance-plans', { site: SITE, asset: 'lift-1', template: 'lift_15_day', team: 'maintenance', startsOn: '2026-03-03' });
    expect(res.statusCode, res.body).toBe(201);
    const plan = res.json() as { id: string; name: string; nextDueOn: string; raiseOn: string; calendar: unknown; checklist: string[] };
    liftPlan = plan.id;
    expect([plan.name, plan.nextDueOn, plan.raiseOn, plan.calendar, plan.checklist.length]).toEqual(['Lift maintenance (every 15 days)', '2026-03-03', '2026-03-01', { every: 15, unit: 'day' }, 8]);

    expect(await plans.run()).toEqual({ raised: 1, skipped: 0 });
    expect(await plans.run()).toEqual({ raised: 0, skipped: 0 });
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
    const [order, ...more] = await planOrders(liftPlan);
    expect(more).toHaveLength(0);
    expect([order!.title, order!.origin, order!.state, order!.checklist.length]).toEqual(['Lift maintenance (every 15 days) · 2026-03-03', 'plan', 'open', 8]);
    // Planned work is due by the end of its date, not by the SLA from when it was raised.
    expect(order!.resolution).toBe(at('2026-03-04'));
    expect(order!.description).toMatch(/TSG T5002/);
    const detail = await getPlan(liftPlan);
    expect([detail.nextDueOn, detail.upcoming.slice(0, 3)]).toEqual(['2026-03-18', ['2026-03-18', '2026-04-02', '2026-04-17']]);
  });

  it('counts the next interval from the day the work was completed', async () => {
    const [order] = await planOrders(liftPlan);
    clock = at('2026-03-05', 10);
    await complete(order!.id);
    expect((await getPlan(liftPlan)).nextDueOn).toBe('2026-03-20');
    clock = at('2026-03-17', 23);
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
    clock = at('2026-03-18', 0.5);
    expect(await instance().run()).toEqual({ raised: 1, skipped: 0 });
  });

  it('raises the latest occurrence after a long outage and records the ones it missed as skipped, with why', async () => {
    // Down from 18 March to 20 April: 4 and 19 April came due meanwhile (20 March's order is open).
    clock = at('2026-04-20', 8);
    expect(await instance().run()).toEqual({ raised: 1, skipped: 1 });
    const detail = await getPlan(liftPlan);
    expect(detail.occurrences.map((o) => [o.dueOn, o.outcome, o.actor])).toEqual([
      ['2026-04-19', 'raised', 'system'],
      ['2026-04-04', 'skipped', 'system'],
      ['2026-03-20', 'raised', 'system'],
      ['2026-03-03', 'raised', 'system'],
    ]);
    expect(detail.occurrences[1]!.reason).toBe('not raised in time (the service was not running); superseded by the occurrence due 2026-04-19');
    const latest = (await planOrders(liftPlan)).at(-1)!;
    expect(latest.title).toMatch(/2026-04-19$/);
    expect(latest.description).toContain('Not raised in time and recorded as skipped: 2026-04-04.');
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
  });

  it('skips an occurrence by hand only with a reason, recorded with who', async () => {
    const refused = await post(`/api/v1/maintenance-plans/${liftPlan}/skip`, { reason: ' ' });
    expect([refused.statusCode, refused.json().message]).toEqual([400, 'body.reason: expected a reason']);
    const res = await post(`/api/v1/maintenance-plans/${liftPlan}/skip`, { reason: 'Lift out of service for modernisation (annual inspection instead)' });
    expect(res.statusCode, res.body).toBe(200);
    const detail = await getPlan(liftPlan);
    expect(detail.occurrences[0]).toMatchObject({ dueOn: '2026-05-04', outcome: 'skipped', actor: 'mgr.sun', reason: 'Lift out of service for modernisation (annual inspection instead)' });
    expect(detail.nextDueOn).toBe('2026-05-19');
    clock = at('2026-05-04', 8);
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
  });

  it('keeps the ledger: details seeded by the configuration, edited in the console and kept on the next start', async () => {
    const list = (await app.inject({ url: `/api/v1/assets?site=${SITE}` })).json() as { assets: { id: string; make: string | null; serialNo: string | null; declared: boolean; nextPlanDue: string | null; activeOrders: number }[] };
    const lift = list.assets.find((a) => a.id === 'lift-1')!;
    expect([lift.make, lift.serialNo, lift.declared, lift.nextPlanDue]).toEqual(['Otis', 'OT-2019-0815', true, '2026-05-19']);
    expect(list.assets.find((a) => a.id === 'lift-1')!.activeOrders).toBe(2);

    const edited = await patch(`/api/v1/sites/${SITE}/assets/lift-1`, { model: 'Gen2 MRL', warrantyUntil: '2027-08-14', notes: '<img src=x onerror=alert(1)>' });
    expect(edited.statusCode, edited.body).toBe(200);
    const locked = await patch(`/api/v1/sites/${SITE}/assets/lift-1`, { name: 'renamed' });
    expect([locked.statusCode, locked.json().message]).toEqual([400, 'asset lift-1 is declared in the configuration: change its name there']);
    const badDate = await patch(`/api/v1/sites/${SITE}/assets/lift-1`, { installedOn: '2019-13-01' });
    expect([badDate.statusCode, badDate.json().message]).toEqual([400, 'body.installedOn: expected a date that exists']);

    const added = await post(`/api/v1/sites/${SITE}/assets`, { id: 'chiller-2', name: 'Chiller 2', kind: 'chiller', building: 'b1', devices: ['pump-meter'], make: 'Carrier', installedOn: '2021-06-01' });
    expect(added.statusCode, added.body).toBe(201);
    expect((await post(`/api/v1/sites/${SITE}/assets`, { id: 'chiller-2', name: 'again', kind: 'chiller' })).statusCode).toBe(409);
    const ghost = await post(`/api/v1/sites/${SITE}/assets`, { id: 'ahu-1', name: 'AHU', kind: 'ahu', devices: ['nope'] });
    expect([ghost.statusCode, ghost.json().message]).toEqual([400, 'unknown device on site sunrise: nope']);
    const building = await post(`/api/v1/sites/${SITE}/assets`, { id: 'ahu-1', name: 'AHU', kind: 'ahu', building: 'b9' });
    expect([building.statusCode, building.json().message]).toEqual([400, 'unknown building "b9" on site sunrise']);

    // The next start declares the site again: the console's asset and edits stay, the config's seeds do not overwrite them.
    await declareSite();
    const after = (await app.inject({ url: `/api/v1/sites/${SITE}/assets/lift-1` })).json() as { model: string; warrantyUntil: string; make: string; notes: string; history: { title: string }[]; plans: { id: string }[] };
    expect([after.make, after.model, after.warrantyUntil, after.notes]).toEqual(['Otis', 'Gen2 MRL', '2027-08-14', '<img src=x onerror=alert(1)>']);
    expect(after.plans.map((p) => p.id)).toEqual([liftPlan]);
    expect(after.history.map((h) => h.title)).toEqual([
      'Lift maintenance (every 15 days) · 2026-04-19',
      'Lift maintenance (every 15 days) · 2026-03-20',
      'Lift maintenance (every 15 days) · 2026-03-03',
    ]);
    const chiller = await app.inject({ url: `/api/v1/sites/${SITE}/assets/chiller-2` });
    expect([chiller.statusCode, (chiller.json() as { devices: string[]; declared: boolean }).devices, chiller.json().declared]).toEqual([200, ['pump-meter'], false]);
  });

  it('keeps documents checked by their bytes and serves them as what they are', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    const res = await post(`/api/v1/sites/${SITE}/assets/lift-1/documents`, { title: '2026 annual inspection certificate', fileName: 'inspection.pdf', dataBase64: pdf.toString('base64') });
    expect(res.statusCode, res.body).toBe(201);
    const doc = res.json() as { url: string; contentType: string; size: number };
    expect([doc.contentType, doc.size]).toEqual(['application/pdf', pdf.length]);
    const served = await app.inject({ url: doc.url });
    expect([served.statusCode, served.headers['content-type'], served.headers['x-content-type-options'], served.rawPayload.equals(pdf)]).toEqual([200, 'application/pdf', 'nosniff', true]);
    const html = await post(`/api/v1/sites/${SITE}/assets/lift-1/documents`, { title: 'x', fileName: 'x.pdf', dataBase64: Buffer.from('<html><script>alert(1)</script>').toString('base64') });
    expect([html.statusCode, html.json().message]).toEqual([400, 'not a PDF, JPEG, PNG or WebP file (it starts like HTML)']);
    const big = await post(`/api/v1/sites/${SITE}/assets/lift-1/documents`, { title: 'x', fileName: 'x.pdf', dataBase64: Buffer.concat([pdf, Buffer.alloc(10 * 1024 * 1024)]).toString('base64') });
    expect([big.statusCode, big.json().message]).toEqual([400, 'the document is 10.0 MiB: at most 10 MiB']);
    const detail = (await app.inject({ url: `/api/v1/sites/${SITE}/assets/lift-1` })).json() as { documents: { title: string }[] };
    expect(detail.documents.map((d) => d.title)).toEqual(['2026 annual inspection certificate']);
  });

  it('shows the plan calendar: what was raised or skipped and what is foreseen', async () => {
    const res = await app.inject({ url: `/api/v1/maintenance-calendar?site=${SITE}&from=2026-04-01&to=2026-06-30` });
    expect(res.statusCode, res.body).toBe(200);
    const lift = (res.json() as { entries: { planId: string; dueOn: string; status: string }[] }).entries.filter((e) => e.planId === liftPlan);
    expect(lift.map((e) => [e.dueOn, e.status])).toEqual([
      ['2026-04-04', 'skipped'],
      ['2026-04-19', 'raised'],
      ['2026-05-04', 'skipped'],
      ['2026-05-19', 'planned'],
      ['2026-06-03', 'planned'],
      ['2026-06-18', 'planned'],
    ]);
    const wide = await app.inject({ url: `/api/v1/maintenance-calendar?from=2026-01-01&to=2027-06-30` });
    expect([wide.statusCode, wide.json().message]).toEqual([400, 'at most 400 days at a time']);
    // Paused, a plan raises nothing and foresees nothing; what it recorded stays.
    expect((await patch(`/api/v1/maintenance-plans/${liftPlan}`, { active: false })).statusCode).toBe(200);
    clock = at('2026-06-30', 9);
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
    const paused = (await app.inject({ url: `/api/v1/maintenance-calendar?site=${SITE}&from=2026-04-01&to=2026-06-30` })).json() as { entries: { status: string }[] };
    expect(paused.entries.map((e) => e.status)).toEqual(['skipped', 'raised', 'skipped']);
  });
  let pumpPlan: string;

  it('raises a usage plan once the meter has advanced its threshold since the last order, across a restart', async () => {
    clock = at('2026-05-10', 9);
    await writeCounter(10_000);
    const res = await post('/api/v1/maintenance-plans', {
      site: SITE,
      asset: 'pump-1',
      name: 'Booster pump service',
      category: 'plumbing',
      priority: 3,
      team: 'maintenance',
      startsOn: '2026-05-10',
      usage: { device: 'pump-meter', metric: 'import_energy', every: 500 },
    });
    expect(res.statusCode, res.body).toBe(201);
    pumpPlan = (res.json() as { id: string }).id;
    // The first round starts counting from the meter's value now.
    expect(await plans.run()).toEqual({ raised: 0, skipped: 0 });
    clock += 3_600_000;
    await writeCounter(10_499);
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
    expect((await getPlan(pumpPlan)).usageProgress).toEqual({ since: 499, every: 500, current: 10_499 });
    clock += 3_600_000;
    await writeCounter(10_501);
    const [a, b] = [instance(), instance()];
    // Two instances at once: one order.
    const rounds = await Promise.all([a.run(), b.run()]);
    expect(rounds.reduce((n, r) => n + r.raised, 0)).toBe(1);
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
    const [order, ...more] = await planOrders(pumpPlan);
    expect(more).toHaveLength(0);
    expect(order!.description).toBe('Due by usage: import_energy advanced 501.0 since the last service (plan: every 500).');
    // While it is open, more usage raises nothing; the count restarted at the order.
    clock += 3_600_000;
    await writeCounter(11_100);
    expect(await instance().run()).toEqual({ raised: 0, skipped: 0 });
    await complete(order!.id);
    expect(await instance().run()).toEqual({ raised: 1, skipped: 0 });
    expect(await planOrders(pumpPlan)).toHaveLength(2);
    expect((await patch(`/api/v1/maintenance-plans/${pumpPlan}`, { active: false })).statusCode).toBe(200);
  });

  it('raises on the calendar or on usage, whichever comes first, and a service restarts both', async () => {
    clock = at('2026-06-01', 9);
    await writeCounter(20_000);
    const res = await post('/api/v1/maintenance-plans', {
      site: SITE,
      asset: 'pump-1',
      template: 'pump_service',
      team: 'maintenance',
      startsOn: '2026-09-01',
      leadDays: 0,
      usage: { device: 'pump-meter', metric: 'import_energy', every: 1_000 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = (res.json() as { id: string }).id;
    expect(await plans.run()).toEqual({ raised: 0, skipped: 0 });
    clock = at('2026-07-15', 9);
    await writeCounter(21_200);
    expect(await plans.run()).toEqual({ raised: 1, skipped: 0 });
    const detail = await getPlan(id);
    expect(detail.occurrences.map((o) => [o.dueOn, o.trigger, o.outcome])).toEqual([['2026-07-15', 'usage', 'raised']]);
    // The 3-monthly date now follows the usage service, not the plan's start.
    expect(detail.nextDueOn).toBe('2026-10-15');
    expect(detail.usageProgress).toEqual({ since: 0, every: 1_000, current: 21_200 });
  });

  it('keeps plans the configuration declares by key: made once, brought up to date, paused when no longer declared', async () => {
    const declared = { site: SITE, asset: 'fire-panel', name: 'Monthly fire inspection', template: 'fire_monthly', category: 'fire' as const, priority: 2, team: 'maintenance', checklist: ['Panel'], calendar: { every: 1, unit: 'month' as const }, startsOn: '2026-08-01', leadDays: 3, usage: { device: 'meter-not-reported-yet', metric: 'run_hours', every: 100 }, active: true, key: 'fire-monthly' };
    await instance().declare([declared]);
    await instance().declare([{ ...declared, priority: 1, checklist: ['Panel', 'Hydrants'] }]);
    const [plan, ...more] = await db.query<{ id: string; priority: number; checklist: string[]; active: boolean }>("SELECT id::text AS id, priority, checklist, active FROM maintenance_plans WHERE key = 'fire-monthly'");
    expect(more).toHaveLength(0);
    expect([plan!.priority, plan!.checklist, plan!.active]).toEqual([1, ['Panel', 'Hydrants'], true]);
    await instance().declare([]);
    const [paused] = await db.query<{ active: boolean }>("SELECT active FROM maintenance_plans WHERE key = 'fire-monthly'");
    expect(paused!.active).toBe(false);
  });

  it('refuses plans that name unknown assets, teams or meters, or have no schedule, saying which', async () => {
    const refused = async (body: Record<string, unknown>, message: string | RegExp) => {
      const res = await post('/api/v1/maintenance-plans', { site: SITE, asset: 'lift-1', template: 'lift_15_day', team: 'maintenance', startsOn: '2026-03-03', ...body });
      expect([res.statusCode, (res.json() as { message: string }).message]).toEqual([400, typeof message === 'string' ? message : expect.stringMatching(message)]);
    };
    await refused({ asset: 'lift-9' }, 'unknown asset "lift-9" on site sunrise');
    await refused({ team: 'north-only' }, 'unknown team "north-only" on site sunrise (teams: maintenance)');
    await refused({ template: undefined, name: 'x' }, 'a plan without a template needs category, priority');
    await refused({ calendar: null }, 'a plan needs a calendar (every N days, weeks or months), a usage threshold, or both');
    await refused({ startsOn: '2026-02-30' }, 'body.startsOn: expected a date that exists');
    await refused({ calendar: { every: 1, unit: 'month', weekdays: [1] } }, 'body.calendar.weekdays: weekdays apply to weekly plans only');
    await refused({ usage: { device: 'ghost-meter', metric: 'import_energy', every: 10 } }, 'unknown device "ghost-meter" on site sunrise');
    await refused({ template: 'elevator' }, /^body\.template: /);
    await refused({ name: '<b>x</b>'.repeat(40) }, 'body.name: expected a name of at most 200 characters');
    const missing = await app.inject({ url: '/api/v1/maintenance-plans/999999' });
    expect(missing.statusCode).toBe(404);
  });

});

// The embedded default: PGlite has one connection, so the plan round must never read a meter beside
// its own open transaction (that would wait for itself).
describe('maintenance plans on the embedded database (PGlite)', () => {
  it('raises a usage plan and a calendar plan on PGlite', async () => {
    const { db, close } = await openTestDatabase('pglite');
    try {
      const timeSeries = await openTimeSeriesStore(db);
      await seedSites(db);
      const registry = new SiteRegistry(db);
      await registry.recordGatewayState(GATEWAY, { status: 'online', devices: [{ id: 'pump-meter', kind: 'meter', driver: 'modbus+tcp' }] });
      await registry.declareSite({ id: SITE, timeZone: 'Asia/Shanghai', buildings: [{ id: 'b1' }], assets: [{ id: 'pump-1', kind: 'pump', building: 'b1', devices: ['pump-meter'] }] });
      let clock = at('2026-05-10', 9);
      const orders = new WorkOrderService({ db, config: WO_CONFIG, calendar: WorkCalendar.china(), logger: silent, now: () => clock });
      const readUsage: UsageReader = async (site, device, metric) => (await timeSeries.latest(site, device)).find((r) => r.metric === metric)?.value ?? undefined;
      const plans = () => new MaintenancePlans(db, orders, readUsage, silent, () => clock);
      const write = (kwh: number) => timeSeries.write(GATEWAY, [{ device: 'pump-meter', metric: 'import_energy', unit: 'kWh', kind: 'counter', ts: clock, value: kwh, quality: 'good' }]);
      await write(100);
      const base = { site: SITE, asset: 'pump-1', template: null, category: 'plumbing' as const, priority: 3, team: 'maintenance', checklist: [], startsOn: '2026-05-10', leadDays: 0, active: true };
      await plans().create({ ...base, name: 'By usage', calendar: null, usage: { device: 'pump-meter', metric: 'import_energy', every: 50 } }, 'mgr.sun');
      await plans().create({ ...base, name: 'Weekly', calendar: { every: 1, unit: 'week' }, usage: null }, 'mgr.sun');
      expect(await plans().run()).toEqual({ raised: 1, skipped: 0 });
      clock += 3_600_000;
      await write(160);
      expect(await plans().run()).toEqual({ raised: 1, skipped: 0 });
      const titles = (await db.query<{ title: string }>("SELECT title FROM work_orders WHERE origin = 'plan' ORDER BY id")).map((r) => r.title);
      expect(titles).toEqual(['Weekly · 2026-05-10', 'By usage · 2026-05-10']);
      await timeSeries.close();
    } finally {
      await close();
    }
  }, 20_000);
});
