import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '@gatehouse/contracts';
import {
  CommandService,
  buildApi,
  createAuthServices,
  LiveHub,
  ROUTE_ACCESS,
  createCloudMetrics,
  createPgliteClient,
  DeadLetterStore,
  EventStore,
  migrate,
  SiteRegistry,
  openTimeSeriesStore,
  type SqlClient,
} from '@gatehouse/cloud';
import { apiTokenFor } from '../../test/support/api-access.js';

const gw = { site: 'sunrise-garden', gateway: 'gw-01' };
const t0 = Date.UTC(2026, 10, 26, 0, 0, 0);

describe('HTTP API', () => {
  let db: SqlClient;
  let app: FastifyInstance;
  /** the app, called with an admin's API token */
  const api = {
    inject: (opts: InjectOptions) => app.inject({ ...opts, headers: { ...(opts.headers ?? {}), authorization: `Bearer ${token}` } }),
  };
  let token = '';
  let brokerUp = true;
  let registry: SiteRegistry;

  beforeAll(async () => {
    db = await createPgliteClient(undefined);
    await migrate(db);
    const timeSeries = await openTimeSeriesStore(db);
    registry = new SiteRegistry(db);
    // 2 hours of one reading a minute; every 10th is a communication error without a value.
    const readings: Reading[] = Array.from({ length: 120 }, (_, i) =>
      i % 10 === 9
        ? { device: 'b1-main', metric: 'active_power', unit: 'W', ts: t0 + i * 60_000, value: null, quality: 'comm_error' as const }
        : { device: 'b1-main', metric: 'active_power', unit: 'W', ts: t0 + i * 60_000, value: i, quality: 'good' as const },
    );
    await timeSeries.write(gw, readings);
    // Three days of an energy counter every 15 minutes on two meters, 1 kWh a step, in Shanghai time.
    const dayStart = Date.UTC(2026, 10, 19, 16); // 20 November, 00:00 in Shanghai
    await timeSeries.write(
      gw,
      ['b1-main', 'b2-main'].flatMap((device, m) =>
        Array.from({ length: 3 * 96 + 1 }, (_, i) => ({ device, metric: 'import_energy', unit: 'kWh', kind: 'counter' as const, ts: dayStart + i * 900_000, value: 1000 * m + i, quality: 'good' as const })),
      ),
    );
    await timeSeries.refreshRollups();
    await registry.recordTelemetry(gw, 0, new Map([['b1-main', t0 + 119 * 60_000]]));
    const auth = createAuthServices(db);
    token = await apiTokenFor({ db, auth });
    app = await buildApi({
      auth,
      live: new LiveHub({ db, logger: pino({ level: 'silent' }) }),
      db,
      timeSeries,
      registry,
      events: new EventStore(db),
      deadLetters: new DeadLetterStore(db),
      commands: new CommandService({ db, publish: async () => { throw new Error('no broker here'); }, logger: pino({ level: 'silent' }) }),
      metrics: createCloudMetrics(),
      logger: pino({ level: 'silent' }),
      version: '0.1.0',
      ingestConnected: () => brokerUp,
    });
  });

  afterAll(async () => {
    await app.close();
    await db.close();
  });

  it('reports health, and degraded when the broker is away', async () => {
    const ok = await api.inject({ url: '/api/v1/health' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'ok', storage: 'pglite', database: true, broker: true, version: '0.1.0' });
    brokerUp = false;
    expect((await api.inject({ url: '/api/v1/health' })).json()).toMatchObject({ status: 'degraded', broker: false });
    brokerUp = true;
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const doc = (await api.inject({ url: '/api/v1/openapi.json' })).json() as { openapi: string; paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
    expect(doc.openapi).toBe('3.1.0');
    // Every documented route is in the role × route matrix, in OpenAPI's {param} spelling.
    const matrix = new Set(Object.keys(ROUTE_ACCESS).map((key) => key.split(' ')[1]!.replace(/:(\w+)/g, '{$1}')));
    expect(Object.keys(doc.paths).filter((path) => !matrix.has(path))).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/series', '/api/v1/auth/login', '/api/v1/audit', '/api/v1/live', '/api/v1/users']));
    expect(doc.paths['/api/v1/series']?.get?.parameters?.map((p) => p.name)).toEqual(['site', 'device', 'metric', 'from', 'to', 'step', 'limit']);
  });

  it('lists sites, gateways and devices with last-seen times', async () => {
    expect((await api.inject({ url: '/api/v1/sites' })).json()).toEqual({ sites: [{ id: gw.site, name: null, timeZone: 'Asia/Shanghai', gateways: 1, devices: 1 }] });
    expect((await api.inject({ url: `/api/v1/devices?site=${gw.site}` })).json().devices).toEqual([
      { site: gw.site, id: 'b1-main', gateway: 'gw-01', kind: 'meter', driver: null, profile: null, name: null, lastSeen: t0 + 119 * 60_000, reportedAs: null },
    ]);
    expect((await api.inject({ url: '/api/v1/gateways' })).json().gateways[0]).toMatchObject({ site: gw.site, id: 'gw-01', status: 'online', lastSeq: 0 });
  });

  it('returns raw readings of a range, every quality, in time order', async () => {
    const res = await api.inject({ url: `/api/v1/series?site=${gw.site}&device=b1-main&metric=active_power&from=${t0}&to=${new Date(t0 + 10 * 60_000).toISOString()}` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ unit: 'W', kind: 'gauge', from: t0, to: t0 + 600_000, resolution: 'raw', stepMs: null });
    expect(body.points).toHaveLength(10);
    expect(body.points[0]).toEqual({ ts: t0, value: 0, quality: 'good' });
    expect(body.points[9]).toEqual({ ts: t0 + 9 * 60_000, value: null, quality: 'comm_error' });
  });

  it('aggregates good values into buckets of the requested step', async () => {
    const body = (await api.inject({ url: `/api/v1/series?site=${gw.site}&device=b1-main&metric=active_power&from=${t0}&to=${t0 + 7_200_000}&step=1h` })).json();
    expect(body).toMatchObject({ resolution: '1h', stepMs: 3_600_000 });
    // Minutes 0..59 minus 9, 19, ..., 59 (errors): 54 values, mean of 0..58 without the 9s.
    const first = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 10 !== 9);
    expect(body.points[0]).toEqual({ ts: t0, mean: first.reduce((a, b) => a + b, 0) / first.length, min: 0, max: 58, last: 58, count: 54, consumption: null });
    expect(body.points[1]).toMatchObject({ ts: t0 + 3_600_000, min: 60, max: 118, count: 54 });
  });

  it('picks raw readings or a rollup from the range and step, and says which', async () => {
    const dayStart = Date.UTC(2026, 10, 19, 16);
    const url = (query: string) => `/api/v1/series?site=${gw.site}&device=b1-main&metric=import_energy&${query}`;
    const auto3days = (await api.inject({ url: url(`from=${dayStart}&to=${dayStart + 3 * 86_400_000}`) })).json();
    expect(auto3days).toMatchObject({ kind: 'counter', resolution: '15m', stepMs: 900_000 });
    expect(auto3days.points).toHaveLength(3 * 96);
    expect(auto3days.points[1]).toEqual({ ts: dayStart + 900_000, mean: 1, min: 1, max: 1, last: 1, count: 1, consumption: 1 });

    const days = (await api.inject({ url: url(`from=${dayStart}&to=${dayStart + 3 * 86_400_000}&step=1d`) })).json();
    expect(days.points.map((p: { ts: number; consumption: number }) => [p.ts, p.consumption])).toEqual([
      [dayStart, 96],
      [dayStart + 86_400_000, 96],
      [dayStart + 2 * 86_400_000, 96],
    ]);
    const sixHours = (await api.inject({ url: url(`from=${dayStart}&to=${dayStart + 86_400_000}&step=6h`) })).json();
    expect(sixHours).toMatchObject({ resolution: '1h', stepMs: 21_600_000 });
    expect(sixHours.points.map((p: { consumption: number }) => p.consumption)).toEqual([24, 24, 24, 24]);
    const twoDays = (await api.inject({ url: url(`from=${dayStart}&to=${dayStart + 3 * 86_400_000}&step=2d`) })).json();
    expect(twoDays.points.map((p: { ts: number; consumption: number }) => [p.ts, p.consumption])).toEqual([
      [dayStart, 192],
      [dayStart + 2 * 86_400_000, 96],
    ]);
    const computed = (await api.inject({ url: url(`from=${dayStart}&to=${dayStart + 3_600_000}&step=10m`) })).json();
    expect(computed).toMatchObject({ resolution: 'computed', stepMs: 600_000 });
    // Readings at :00, :15, :30, :45 and :60: each step lands in the 10-minute bucket its reading closes
    // (the one holding ts - 1 ms); values count where the readings are.
    expect(computed.points.map((p: { ts: number; consumption: number; count: number }) => [(p.ts - dayStart) / 60_000, p.consumption, p.count])).toEqual([
      [0, 0, 1],
      [10, 1, 1],
      [20, 1, 0],
      [30, 0, 1],
      [40, 1, 1],
      [50, 1, 0],
    ]);
    expect((await api.inject({ url: url(`from=${dayStart}&to=${dayStart + 86_400_000}&step=raw`) })).json()).toMatchObject({ resolution: 'raw', stepMs: null });
    // Everything since 1970 without a step: the resolution picked stays within the point cap (months).
    const everything = await api.inject({ url: url(`from=0&to=${dayStart + 3 * 86_400_000}`) });
    expect(everything.statusCode).toBe(200);
    expect(everything.json()).toMatchObject({ resolution: '1mo' });
    expect(everything.json().points.map((p: { consumption: number }) => p.consumption)).toEqual([288]);
  });

  it('lists the buildings and assets a site declares, and follows the declaration when it changes', async () => {
    await registry.declareSite({
      id: gw.site,
      timeZone: 'Asia/Shanghai',
      buildings: [{ id: 'b1', name: 'Tower 1' }, { id: 'b2' }],
      assets: [
        { id: 'b1-incomer', name: 'Tower 1 main incomer', kind: 'main_incomer', building: 'b1', devices: ['b1-main'] },
        { id: 'pump-1', kind: 'pump', building: 'b2', devices: ['pump-meter', 'pump-vfd'] },
      ],
    });
    expect((await api.inject({ url: `/api/v1/sites/${gw.site}/assets` })).json()).toEqual({
      site: gw.site,
      buildings: [{ id: 'b1', name: 'Tower 1' }, { id: 'b2', name: null }],
      assets: [
        { id: 'b1-incomer', name: 'Tower 1 main incomer', kind: 'main_incomer', building: 'b1', devices: ['b1-main'] },
        { id: 'pump-1', name: null, kind: 'pump', building: 'b2', devices: ['pump-meter', 'pump-vfd'] },
      ],
    });
    // The pump goes from the configuration, and with it from the site.
    await registry.declareSite({ id: gw.site, timeZone: 'Asia/Shanghai', buildings: [{ id: 'b1', name: 'Tower 1' }], assets: [{ id: 'b1-incomer', kind: 'main_incomer', building: 'b1', devices: ['b1-main'] }] });
    const after = (await api.inject({ url: `/api/v1/sites/${gw.site}/assets` })).json();
    expect(after.buildings).toEqual([{ id: 'b1', name: 'Tower 1' }]);
    expect(after.assets.map((a: { id: string }) => a.id)).toEqual(['b1-incomer']);
  });

  it('answers one rollup for every device of a site', async () => {
    const dayStart = Date.UTC(2026, 10, 19, 16);
    const res = await api.inject({ url: `/api/v1/sites/${gw.site}/rollups?metric=import_energy&level=1d&from=2026-11-20T00:00:00%2B08:00&to=2026-11-23T00:00:00%2B08:00` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ site: gw.site, metric: 'import_energy', level: '1d', timeZone: 'Asia/Shanghai', from: dayStart });
    expect(body.devices.map((d: { device: string; buckets: { consumption: number }[] }) => [d.device, d.buckets.map((b) => b.consumption)])).toEqual([
      ['b1-main', [96, 96, 96]],
      ['b2-main', [96, 96, 96]],
    ]);
    const table = (await api.inject({ url: `/api/v1/sites/${gw.site}/rollup-table?metric=import_energy&level=1d&from=2026-11-20T10:00:00%2B08:00&to=2026-11-23T00:00:00%2B08:00` })).json();
    // From 10:00 asked, the whole local day answered.
    expect(table).toMatchObject({ level: '1d', field: 'consumption', timeZone: 'Asia/Shanghai', from: dayStart, ts: [dayStart, dayStart + 86_400_000, dayStart + 2 * 86_400_000] });
    expect(table.devices).toEqual([
      { device: 'b1-main', unit: 'kWh', kind: 'counter', values: [96, 96, 96] },
      { device: 'b2-main', unit: 'kWh', kind: 'counter', values: [96, 96, 96] },
    ]);
    const counts = (await api.inject({ url: `/api/v1/sites/${gw.site}/rollup-table?metric=import_energy&level=1mo&field=count&from=2026-11-01T00:00:00%2B08:00` })).json();
    expect(counts.devices.map((d: { values: number[] }) => d.values)).toEqual([[3 * 96 + 1], [3 * 96 + 1]]);
    // A date without a time is midnight at the site, on every route alike.
    const byDate = (await api.inject({ url: `/api/v1/sites/${gw.site}/rollups?metric=import_energy&level=1d&from=2026-11-20&to=2026-11-23` })).json();
    expect(byDate).toMatchObject({ from: dayStart, to: dayStart + 3 * 86_400_000 });
    expect(byDate.devices).toEqual(body.devices);
    const tableByDate = (await api.inject({ url: `/api/v1/sites/${gw.site}/rollup-table?metric=import_energy&level=1d&from=2026-11-20&to=2026-11-23` })).json();
    expect(tableByDate).toMatchObject({ from: dayStart, to: dayStart + 3 * 86_400_000, ts: table.ts });
    const seriesByDate = (await api.inject({ url: `/api/v1/series?site=${gw.site}&device=b1-main&metric=import_energy&from=2026-11-20&to=2026-11-21&step=1d` })).json();
    expect(seriesByDate).toMatchObject({ from: dayStart, to: dayStart + 86_400_000 });
    // A local time without an offset is read at the site too; epoch milliseconds and offsets are what they say.
    expect((await api.inject({ url: `/api/v1/sites/${gw.site}/rollups?metric=import_energy&level=1d&from=2026-11-20T00:00&to=${dayStart + 86_400_000}` })).json()).toMatchObject({ from: dayStart });
    const bad = await api.inject({ url: `/api/v1/sites/${gw.site}/rollups?metric=import_energy&level=1w&from=2026-11-20` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^querystring\.level: /);
  });

  it('answers a bad request with a message that names the problem', async () => {
    const missing = await api.inject({ url: '/api/v1/series?site=sunrise-garden&device=b1-main' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ code: 'GH_BAD_REQUEST', message: expect.stringContaining('querystring.metric') });

    const badTime = await api.inject({ url: '/api/v1/series?site=s&device=d&metric=m&from=yesterday' });
    expect(badTime.json()).toEqual({
      code: 'GH_BAD_REQUEST',
      message: 'querystring.from: expected an ISO 8601 time (2026-11-26T08:00:00+08:00; 2026-11-26 for midnight at the site) or epoch milliseconds, not "yesterday"',
    });
    // Only ISO 8601 and epoch milliseconds: everything else is refused, never read as something else.
    const refused: Record<string, RegExp> = {
      '99999999999999999999': /out of range/,
      '10000-01-01T00:00:00Z': /not "10000-01-01T00:00:00Z"/,
      '2026-02-30': /"2026-02-30" is not a date/,
      '2026-11-26T24:00': /is not a time of day/,
      'Dec 4': /not "Dec 4"/,
      '4/12/2026': /not "4\/12\/2026"/,
      '-5': /not "-5"/,
      '2026': /"2026" looks like a year; write 2026-01-01/,
      '2026-11-26T08:00+25:00': /"\+25:00" is not a UTC offset/,
    };
    for (const [from, message] of Object.entries(refused)) {
      const res = await api.inject({ url: `/api/v1/series?site=${gw.site}&device=b1-main&metric=active_power&from=${encodeURIComponent(from)}` });
      expect(res.statusCode, from).toBe(400);
      expect(res.json().message, from).toMatch(message);
    }

    const badStep = await api.inject({ url: '/api/v1/series?site=s&device=d&metric=m&step=5x' });
    expect(badStep.json().message).toBe('querystring.step: expected raw, 1mo or a duration like 30s, 15m, 1h, 1d');

    const reversed = await api.inject({ url: `/api/v1/series?site=s&device=d&metric=m&from=${t0 + 1000}&to=${t0}` });
    expect(reversed.json()).toMatchObject({ code: 'GH_BAD_TIME_RANGE' });

    const tooMany = await api.inject({ url: `/api/v1/series?site=s&device=d&metric=m&from=0&to=${t0}&step=1s` });
    expect(tooMany.json()).toMatchObject({ code: 'GH_TOO_MANY_POINTS' });
  });

  it('answers 404 for unknown devices and routes', async () => {
    expect((await api.inject({ url: `/api/v1/sites/${gw.site}/devices/nope/latest` })).json()).toEqual({ code: 'GH_NOT_FOUND', message: `no readings for device "nope" on site "${gw.site}"` });
    const latest = (await api.inject({ url: `/api/v1/sites/${gw.site}/devices/b1-main/latest` })).json();
    expect(latest.readings).toEqual([
      { device: 'b1-main', metric: 'active_power', unit: 'W', ts: t0 + 119 * 60_000, value: null, quality: 'comm_error' },
      { device: 'b1-main', metric: 'import_energy', unit: 'kWh', ts: Date.UTC(2026, 10, 19, 16) + 288 * 900_000, value: 288, quality: 'good' },
    ]);
    // Unknown site, device or metric: 404 naming it, not an empty answer.
    const series = (query: string) => api.inject({ url: `/api/v1/series?${query}&from=${t0}&to=${t0 + 3_600_000}` });
    expect((await series('site=nowhere&device=b1-main&metric=active_power')).json()).toEqual({ code: 'GH_NOT_FOUND', message: 'no site nowhere' });
    expect((await series(`site=${gw.site}&device=b9-main&metric=active_power`)).json()).toEqual({ code: 'GH_NOT_FOUND', message: `no device b9-main at site ${gw.site}` });
    expect((await series(`site=${gw.site}&device=b1-main&metric=reactive_power`)).json()).toEqual({ code: 'GH_NOT_FOUND', message: `device b1-main at site ${gw.site} has no metric reactive_power` });
    const noMetric = await api.inject({ url: `/api/v1/sites/${gw.site}/rollup-table?metric=reactive_power&from=${t0}` });
    expect(noMetric.statusCode).toBe(404);
    expect(noMetric.json().message).toBe(`no device of site ${gw.site} reports metric reactive_power`);
    expect((await api.inject({ url: `/api/v1/sites/nowhere/rollups?metric=import_energy&from=${t0}` })).json()).toEqual({ code: 'GH_NOT_FOUND', message: 'no site nowhere' });
    // A limit that cuts the answer says so.
    const cut = (await series(`site=${gw.site}&device=b1-main&metric=active_power&step=raw&limit=10`)).json();
    expect(cut.points).toHaveLength(10);
    expect(cut.truncated).toBe(true);
    expect((await series(`site=${gw.site}&device=b1-main&metric=active_power&step=raw`)).json().truncated).toBe(false);
    const unknown = await api.inject({ url: '/api/v2/things' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('GH_NOT_FOUND');
  });

  it('exposes Prometheus metrics', async () => {
    const res = await api.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('# TYPE gh_cloud_ingest_messages_total counter');
    expect(res.body).toContain('# TYPE gh_cloud_process_resident_memory_bytes gauge');
    // No name says the same word twice in a row (gh_cloud_process_process_…).
    const names = [...res.body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
    expect(names.filter((n) => /(^|_)([a-z]+)_\2(_|$)/.test(n))).toEqual([]);
  });
});
