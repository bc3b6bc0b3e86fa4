import type { FastifyInstance } from 'fastify';
import type { Reading } from '@gatehouse/contracts';
import { shapeFactor } from '@gatehouse/firmware-sim';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildApi,
  CommandService,
  createAuthServices,
  createCloudMetrics,
  DeadLetterStore,
  detectionConfigSchema,
  DetectionService,
  EventStore,
  LiveHub,
  openTimeSeriesStore,
  SiteRegistry,
  type Role,
  type SqlClient,
  type TimeSeriesStore,
} from '../../src/index.js';
import { registerFindingRoutes } from '../../src/detection/finding-routes.js';
import { AlarmService } from '../../src/alarms/index.js';
import { migratedPglite, silent } from '../alarms/alarm-fixtures.js';

const SITE = 'harbour';
const GW = { site: SITE, gateway: 'gw-01' };
const ZONE = 'Asia/Shanghai';
// Monday 2 March 2025 00:00 in Shanghai: the meters' first reading; "now" is 21 days later.
const START = DateTime.fromISO('2025-03-03T00:00:00', { zone: ZONE });
const NOW = START.plus({ days: 21 }).toMillis();
const Q = 15 * 60_000;

/** An office feeder's 15-minute register readings from START for `days` days, with an optional edit per reading. */
function officeCounter(device: string, kwPerSlot: number, days: number, edit: (ts: number, value: number) => Partial<Reading> | null = () => ({})): Reading[] {
  const out: Reading[] = [];
  let register = 10_000;
  for (let i = 1; i <= days * 96; i++) {
    const local = START.plus({ minutes: 15 * i });
    if (local.toMillis() > NOW) break;
    register += kwPerSlot * shapeFactor('office', local.weekday >= 6, local.hour, local.minute) * (1 + 0.02 * Math.sin(i * 2.3));
    const reading: Reading = { device, metric: 'import_energy', unit: 'kWh', kind: 'counter', ts: local.toMillis(), value: Math.round(register * 100) / 100, quality: 'good' } as Reading;
    const changed = edit(reading.ts, reading.value!);
    if (changed) out.push({ ...reading, ...changed } as Reading);
  }
  return out;
}

/** A register that stops moving after `from`: the meter answers, always with the same value. */
function freezeAfter(readings: Reading[], from: number): Reading[] {
  const frozen = readings.filter((r) => r.ts <= from).at(-1)!.value;
  return readings.map((r) => (r.ts > from ? { ...r, value: frozen } : r));
}

describe('live energy detection', () => {
  let db: SqlClient;
  let timeSeries: TimeSeriesStore;
  let registry: SiteRegistry;
  let app: FastifyInstance;
  let detection: DetectionService;
  let alarms: AlarmService;
  const tokens: Record<string, string> = {};
  const get = (who: string, url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens[who]}` } });
  const stuckFrom = NOW - 10 * 3_600_000;
  const gapFrom = NOW - 30 * 3_600_000;
  const gapTo = NOW - 26 * 3_600_000;
  const resetAt = NOW - 2 * 86_400_000 + 10 * 3_600_000;
  let lateRows: Reading[] = [];

  const store = async (readings: Reading[]) => {
    for (let i = 0; i < readings.length; i += 2000) {
      const batch = readings.slice(i, i + 2000);
      await timeSeries.write(GW, batch);
      await registry.recordCounterEvents(SITE, batch);
    }
    await timeSeries.refreshRollups();
  };

  beforeAll(async () => {
    db = await migratedPglite();
    registry = new SiteRegistry(db);
    await registry.declareSite({ id: SITE, timeZone: ZONE, name: 'Harbour offices' });
    timeSeries = await openTimeSeriesStore(db);
    const auth = createAuthServices(db);
    const tokenFor = async (username: string, roles: Role[]) =>
      db.transaction(async (tx) => {
        await auth.users.create(tx, { username, password: 'test-password-1234', roles, sites: [SITE] });
        return (await auth.tokens.create(tx, username, { name: 't', roles, sites: [SITE], expiresAt: Date.now() + 3_600_000 })).token;
      });
    tokens.facilities = await tokenFor('fac.zhao', ['facilities']);
    tokens.guard = await tokenFor('guard.li', ['guard']);

    // office-a stands still for the last 10 hours while the others go on; office-b's register was
    // reset two days ago (the edge flagged it); office-c lost 4 hours yesterday that arrive late;
    // office-d is new (three days of history).
    await store([
      ...freezeAfter(officeCounter('office-a', 40, 21), stuckFrom),
      ...officeCounter('office-b', 30, 21, (ts, v) => (ts === resetAt ? { value: 0.5, quality: 'counter_reset' } : ts > resetAt ? { value: v - 9_000 } : {})),
      ...officeCounter('office-c', 25, 21, (ts) => (ts > gapFrom && ts < gapTo ? null : {})),
      ...officeCounter('office-d', 20, 21, (ts) => (ts > NOW - 3 * 86_400_000 ? {} : null)),
    ]);
    lateRows = officeCounter('office-c', 25, 21, (ts) => (ts > gapFrom && ts < gapTo ? {} : null));

    const config = detectionConfigSchema.parse({ everyMs: 60_000 });
    detection = new DetectionService({ db, timeSeries, config, sites: [{ id: SITE, tariff: { electricity: { price: 0.8 } }, subMeters: {} }], logger: silent, now: () => NOW });
    alarms = new AlarmService({ db, config: {}, logger: silent, now: () => NOW });
    app = await buildApi({
      auth,
      live: new LiveHub({ db, logger: silent }),
      db,
      timeSeries,
      registry,
      events: new EventStore(db),
      deadLetters: new DeadLetterStore(db),
      commands: new CommandService({ db, publish: async () => undefined, logger: silent }),
      metrics: createCloudMetrics(),
      logger: silent,
      version: '0.1.0',
      ingestConnected: () => true,
      domainRoutes: [(api) => registerFindingRoutes(api, { db, requiredDays: 14 })],
    });
  });

  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('finds a stuck meter, a reset register and a gap, says so in two languages, and tells which meters are still learning', async () => {
    const run = await detection.runOnce();
    expect(run).toMatchObject({ sites: 1, meters: 4, learning: 1 });

    const response = await get('facilities', `/api/v1/sites/${SITE}/findings`);
    expect(response.statusCode).toBe(200);
    const findings = response.json().findings as { id: string; device: string; detector: string; variant: string | null; ongoing: boolean; costCny: number | null; confidence: number; reason: { en: string; zh: string }; start: number }[];
    const summary = findings.map((f) => `${f.device} ${f.detector}${f.ongoing ? ' ongoing' : ''}`).sort();
    expect(summary).toEqual(['office-a stuck ongoing', 'office-b counter_reset', 'office-c comm_loss']);

    const stuck = findings.find((f) => f.detector === 'stuck')!;
    if (process.env.SHOW_REASONS) console.log(JSON.stringify(findings.map((f) => [f.reason, f.costCny])));
    expect(stuck.reason.en).toMatch(/^office-a stopped counting since .* about [\d.,]+ kWh not measured/);
    expect(stuck.reason.zh).toMatch(/停止计量/);
    expect(stuck.confidence).toBeGreaterThanOrEqual(0.8);
    expect(Math.abs(stuck.start - stuckFrom)).toBeLessThanOrEqual(Q);
    const reset = findings.find((f) => f.detector === 'counter_reset')!;
    expect(reset.variant).toBe('reset');
    expect(reset.reason.zh).toMatch(/清零/);

    const detail = (await get('facilities', `/api/v1/sites/${SITE}/findings/${stuck.id}`)).json();
    expect(detail.evidence.step).toBe(Q);
    expect(detail.evidence.actual.length).toBe(detail.evidence.expected.length);
    expect(detail.evidence.expected.some((x: number | null) => x !== null && x > 0)).toBe(true);

    const meters = (await get('facilities', `/api/v1/sites/${SITE}/detection`)).json().meters as { device: string; state: string; historyDays: number }[];
    expect(meters.map((m) => `${m.device} ${m.state}`)).toEqual(['office-a watching', 'office-b watching', 'office-c watching', 'office-d learning']);
    expect(meters.find((m) => m.device === 'office-d')!.historyDays).toBeLessThan(14);

    // The filters, a wrong one, an unknown site, and a role that may not read findings.
    expect((await get('facilities', `/api/v1/sites/${SITE}/findings?detector=stuck&ongoing=true`)).json().findings).toHaveLength(1);
    const bad = await get('facilities', `/api/v1/sites/${SITE}/findings?detector=stuk`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/detector/);
    expect((await get('facilities', '/api/v1/sites/nowhere/findings')).statusCode).toBe(403);
    expect((await get('guard', `/api/v1/sites/${SITE}/findings`)).statusCode).toBe(403);
  });

  it('raises an energy_anomaly alarm for the ongoing stuck meter', async () => {
    await alarms.checkHealth();
    const rows = await db.query<{ type: string; device: string; detail: string }>("SELECT type, device, detail FROM alarms WHERE type = 'energy_anomaly'");
    expect(rows).toEqual([{ type: 'energy_anomaly', device: 'office-a', detail: expect.stringMatching(/stopped counting/) }]);
  });

  it('re-judges the window when late data fills a gap, even when another cloud instance stored and rolled it up', async () => {
    // Another instance (its own store and rollup refresher on the same database) takes the late backlog.
    const otherInstance = await openTimeSeriesStore(db);
    await otherInstance.write(GW, lateRows);
    await otherInstance.refreshRollups();
    await detection.runOnce();
    const findings = (await get('facilities', `/api/v1/sites/${SITE}/findings`)).json().findings as { device: string; detector: string }[];
    expect(findings.map((f) => `${f.device} ${f.detector}`).sort()).toEqual(['office-a stuck', 'office-b counter_reset']);
  });
});
