/**
 * npm run bench:storage: how fast readings go into each time-series backend, and how fast engineers'
 * queries come back.
 *
 * 1. Ingest: the same rows (energy counters of many meters) written through each adapter in batches of
 *    5,000 (the largest telemetry message), and into PostgreSQL by raw `COPY` into the same schema and
 *    indexes, in the same run.
 * 2. Query (PostgreSQL): a year of 15-minute readings of 500 meters written through the adapter, rolled
 *    up, then through the HTTP API: daily totals of every meter of the site for a month and for the
 *    year, and the 15-minute series of one meter over a month.
 *
 * 3. PGlite and InfluxDB: the whole-year table of 2., from a year of hourly readings.
 * 4. TimescaleDB: the adapter against raw COPY into the same hypertable, in the same run; the query set
 *    of 2. with every chunk compressed, and the bytes per reading before and after compression.
 *
 * Environment: GH_BENCH_INGEST_ROWS (2,000,000), GH_BENCH_QUERY_METERS (500), GH_BENCH_QUERY_DAYS (365),
 * GH_BENCH_SKIP_QUERY=1, GH_BENCH_SKIP_INGEST=1, GH_BENCH_SKIP_TIMESCALE=1, GH_BENCH_ONLY_TIMESCALE=1 (its query set only), GH_TEST_PG_URL,
 * GH_TEST_TIMESCALE_URL, GH_TEST_INFLUX_URL. Ends with one line of JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pino } from 'pino';
import { MAX_READINGS_PER_BATCH, type Reading } from '@gatehouse/contracts';
import {
  CommandService,
  buildApi,
  createAuthServices,
  LiveHub,
  createCloudMetrics,
  createPgliteClient,
  createPostgresClient,
  DeadLetterStore,
  EventStore,
  migrate,
  openTimeSeriesStore,
  ReadingPartitions,
  SeriesCatalogue,
  SiteRegistry,
  type SqlClient,
  type TimeSeriesBackendConfig,
  type TimeSeriesStore,
  type TimescaleOptions,
} from '@gatehouse/cloud';
import { PG_ADMIN_URL, TIMESCALE_ADMIN_URL, withDatabase } from './bench-database.js';
import { describeMachine, percentile } from './machine.js';

const INGEST_ROWS = Number(process.env.GH_BENCH_INGEST_ROWS ?? 2_000_000);
const QUERY_METERS = Number(process.env.GH_BENCH_QUERY_METERS ?? 500);
const QUERY_DAYS = Number(process.env.GH_BENCH_QUERY_DAYS ?? 365);
const INFLUX_URL = process.env.GH_TEST_INFLUX_URL ?? 'http://127.0.0.1:8086';
const SITE = 'bench-site';
const GATEWAY = 'gw-bench';
const QUARTER = 15 * 60_000;
const DAY = 86_400_000;
const out = (line = '') => process.stdout.write(`${line}\n`);

/** Meters × readings, 15 minutes apart, one energy counter each: the shape of a replayed backlog. */
function* batches(meters: number, perMeter: number, start: number, step = QUARTER): Generator<Reading[]> {
  let batch: Reading[] = [];
  for (let i = 0; i < perMeter; i++) {
    const ts = start + i * step;
    for (let m = 0; m < meters; m++) {
      batch.push({ device: `meter-${m}`, metric: 'import_energy', unit: 'kWh', kind: 'counter', ts, value: m * 10_000 + i * 0.75 * (step / QUARTER), quality: 'good' });
      if (batch.length === MAX_READINGS_PER_BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Writes every batch through the adapter, `writers` batches at a time (the cloud writes as many at once
 * as it has ingest connections); returns points per second.
 */
async function ingestThroughAdapter(store: TimeSeriesStore, meters: number, perMeter: number, start: number, writers = 1, step = QUARTER): Promise<{ rate: number; seconds: number; inserted: number }> {
  const began = performance.now();
  let inserted = 0;
  const source = batches(meters, perMeter, start, step);
  const writer = async () => {
    for (let next = source.next(); !next.done; next = source.next()) {
      // Read `inserted` only after the await: `inserted += await …` would add to a stale value.
      const written = await store.write({ site: SITE, gateway: GATEWAY }, next.value);
      inserted += written.inserted;
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  const seconds = (performance.now() - began) / 1000;
  return { rate: (meters * perMeter) / seconds, seconds, inserted };
}

/** Where an ingest run writes: the machine's PostgreSQL (monthly partitions) or its TimescaleDB (a hypertable, uncompressed while loading). */
interface IngestServer {
  name: string;
  adminUrl: string;
  timescale: TimescaleOptions;
}
const POSTGRES: IngestServer = { name: 'PostgreSQL', adminUrl: PG_ADMIN_URL, timescale: { use: 'never', chunkDays: 7, compressAfterDays: null } };
const TIMESCALE: IngestServer = { name: 'TimescaleDB', adminUrl: TIMESCALE_ADMIN_URL, timescale: { use: 'require', chunkDays: 7, compressAfterDays: null } };

async function postgresIngest(meters: number, perMeter: number, start: number, server = POSTGRES, withTwoWriters = true): Promise<{ adapter: number; adapterTwoWriters: number; copy: number }> {
  const throughAdapter = (writers: number) =>
    withDatabase(async (url) => {
      const db = createPostgresClient({ connectionString: url });
      await migrate(db);
      const store = await openTimeSeriesStore(db, undefined, server.timescale);
      const result = await ingestThroughAdapter(store, meters, perMeter, start, writers);
      if (result.inserted !== meters * perMeter) throw new Error(`adapter stored ${result.inserted} of ${meters * perMeter}`);
      await db.close();
      return result;
    }, server.adminUrl);
  const adapter = await throughAdapter(1);
  out(`  ${server.name} adapter, one writer: ${fmt(adapter.rate)} points/s (${(meters * perMeter).toLocaleString('en')} points in ${adapter.seconds.toFixed(1)} s)`);
  const adapterTwo = withTwoWriters ? await throughAdapter(2) : { rate: Number.NaN, seconds: Number.NaN };
  if (withTwoWriters) out(`  ${server.name} adapter, two writers: ${fmt(adapterTwo.rate)} points/s (${adapterTwo.seconds.toFixed(1)} s)`);

  const copy = await withDatabase(async (url) => {
    const db = createPostgresClient({ connectionString: url });
    await migrate(db);
    // The same series and partitions (or hypertable) the adapter would have made, outside the timing.
    const store = await openTimeSeriesStore(db, undefined, server.timescale);
    const catalogue = new SeriesCatalogue(db);
    const series = await catalogue.resolve(SITE, [...batches(meters, 1, start)].flat());
    const idOf = new Map(series.map((s) => [s.device, s.id]));
    if (store.backend !== 'timescaledb') await new ReadingPartitions(db).ensureFor(Array.from({ length: perMeter }, (_, i) => start + i * QUARTER));
    await db.close();
    // COPY text built before the clock starts: the baseline is the database's own best.
    const chunks: string[] = [];
    for (const batch of batches(meters, perMeter, start)) {
      chunks.push(batch.map((r) => `${idOf.get(r.device)}\t${new Date(r.ts).toISOString()}\t${r.value}\t${r.quality}\t\\N\t\\N\t\\N\n`).join(''));
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const began = performance.now();
    await pipeline(Readable.from(chunks), client.query(copyFrom('COPY readings (series_id, ts, value, quality, agg_count, agg_min, agg_max) FROM STDIN')));
    const seconds = (performance.now() - began) / 1000;
    const count = (await client.query<{ n: string }>('SELECT count(*) AS n FROM readings')).rows[0]?.n;
    await client.end();
    if (Number(count) !== meters * perMeter) throw new Error(`COPY stored ${count} of ${meters * perMeter}`);
    return { rate: (meters * perMeter) / seconds, seconds };
  }, server.adminUrl);
  out(`  ${server.name} raw COPY: ${fmt(copy.rate)} points/s (${copy.seconds.toFixed(1)} s)`);
  return { adapter: adapter.rate, adapterTwoWriters: adapterTwo.rate, copy: copy.rate };
}

async function otherIngest(name: string, meters: number, perMeter: number, start: number, open: () => Promise<{ db: SqlClient; backend?: TimeSeriesBackendConfig; cleanup: () => Promise<void> }>): Promise<number> {
  const { db, backend, cleanup } = await open();
  try {
    await migrate(db);
    const store = await openTimeSeriesStore(db, backend);
    const result = await ingestThroughAdapter(store, meters, perMeter, start);
    out(`  ${name} adapter: ${fmt(result.rate)} points/s (${(meters * perMeter).toLocaleString('en')} points in ${result.seconds.toFixed(1)} s)`);
    return result.rate;
  } finally {
    await db.close();
    await cleanup();
  }
}

async function influxQuery(q: string): Promise<void> {
  const res = await fetch(`${INFLUX_URL}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
  if (!res.ok) throw new Error(`InfluxDB refused "${q}": ${res.status}`);
}

/** The API wants a caller: the bench queries as an engineer's script would, with an API token. */
let apiToken = '';

async function timeRequests(label: string, urls: () => string, runs: number): Promise<{ p50: number; p95: number; items: number; first: number }> {
  const times: number[] = [];
  let items = 0;
  let first = Number.NaN;
  for (let i = 0; i < runs + 3; i++) {
    const began = performance.now();
    const res = await fetch(urls(), { headers: { authorization: `Bearer ${apiToken}` } });
    const body = (await res.json()) as { points?: unknown[]; devices?: { buckets?: unknown[]; values?: unknown[] }[] };
    const ms = performance.now() - began;
    if (!res.ok) throw new Error(`${label}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    items = body.points?.length ?? body.devices?.reduce((n, d) => n + (d.buckets ?? d.values ?? []).length, 0) ?? 0;
    if (i === 0) first = ms;
    if (i >= 3) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const result = { p50: percentile(times, 50), p95: percentile(times, 95), items, first };
  out(`  ${label}: p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms (${items.toLocaleString('en')} values per answer, ${runs} runs; the first, before anything was kept: ${first.toFixed(1)} ms)`);
  return result;
}

/** The cloud's HTTP API over `store`, with an engineer's token for the bench's requests. */
async function startApi(db: SqlClient, store: TimeSeriesStore, registry: SiteRegistry): Promise<{ api: Awaited<ReturnType<typeof buildApi>>; base: string }> {
  const auth = createAuthServices(db);
  apiToken = await db.transaction(async (tx) => {
    await auth.users.create(tx, { username: 'bench.engineer', password: 'bench-password-1234', roles: ['engineer'], sites: '*' });
    return (await auth.tokens.create(tx, 'bench.engineer', { name: 'storage bench', roles: ['engineer'], sites: '*', expiresAt: Date.now() + 86_400_000 })).token;
  });
  const api = await buildApi({
    db,
    timeSeries: store,
    registry,
    events: new EventStore(db),
    deadLetters: new DeadLetterStore(db),
    commands: new CommandService({ db, publish: async () => { throw new Error('no broker here'); }, logger: pino({ level: 'silent' }) }),
    metrics: createCloudMetrics(),
    logger: pino({ level: 'silent' }),
    version: 'bench',
    auth,
    live: new LiveHub({ db, logger: pino({ level: 'silent' }) }),
    ingestConnected: () => true,
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  return { api, base: `http://127.0.0.1:${(api.server.address() as AddressInfo).port}/api/v1` };
}

async function queryBenchmark(server = POSTGRES, prefix = ''): Promise<Record<string, number>> {
  return withDatabase(async (url) => {
    const db = createPostgresClient({ connectionString: url });
    await migrate(db);
    const registry = new SiteRegistry(db);
    await registry.declareSite({ id: SITE, timeZone: 'Asia/Shanghai' });
    // Loaded without a compression policy, so that its job does not compress chunks still being
    // written; every chunk is compressed below, then the policy is made as configured.
    let store = await openTimeSeriesStore(db, undefined, { ...server.timescale, compressAfterDays: null });
    // A calendar year in Shanghai.
    const start = Date.UTC(2025, 0, 1) - 8 * 3_600_000;
    const perMeter = (QUERY_DAYS * DAY) / QUARTER;
    out(`  loading ${QUERY_METERS} meters × ${QUERY_DAYS} days of 15-minute readings (${(QUERY_METERS * perMeter).toLocaleString('en')} points) through the adapter…`);
    const load = await ingestThroughAdapter(store, QUERY_METERS, perMeter, start, 2);
    out(`  loaded at ${fmt(load.rate)} points/s with two writers (${load.seconds.toFixed(1)} s)`);
    const began = performance.now();
    const stats = await store.refreshRollups();
    const rollupSeconds = (performance.now() - began) / 1000;
    out(`  rollups: ${stats.buckets.toLocaleString('en')} 15-minute buckets (and their hours, days, months) from ${stats.readingsRead.toLocaleString('en')} readings in ${rollupSeconds.toFixed(1)} s (${fmt(stats.readingsRead / rollupSeconds)} readings/s)`);
    const compression: Record<string, number> = {};
    if (store.backend === 'timescaledb') {
      // A realistic year of meter data, before and after native compression (every chunk compressed).
      const size = async () => (await db.query<{ bytes: number }>("SELECT hypertable_size('readings')::float8 AS bytes"))[0]!.bytes;
      const readings = QUERY_METERS * perMeter;
      // Compression and its policy, as configured, now that every chunk is written.
      store = await openTimeSeriesStore(db, undefined, server.timescale);
      const before = await size();
      const compressStarted = performance.now();
      await db.query("SELECT count(compress_chunk(c, if_not_compressed => true)) FROM show_chunks('readings') c");
      const compressSeconds = (performance.now() - compressStarted) / 1000;
      const after = await size();
      out(`  compression: ${(before / readings).toFixed(1)} bytes per reading before, ${(after / readings).toFixed(1)} after (${(before / after).toFixed(1)}×, ${(before / 1048576).toFixed(0)} → ${(after / 1048576).toFixed(0)} MiB), compressed in ${compressSeconds.toFixed(1)} s`);
      compression.bytes_per_reading_uncompressed = round1(before / readings);
      compression.bytes_per_reading_compressed = round1(after / readings);
      compression.compression_ratio = round1(before / after);
    }
    await db.query('VACUUM ANALYZE');

    const { api, base } = await startApi(db, store, registry);
    const months = Math.max(1, Math.floor(QUERY_DAYS / 31));
    const monthStart = (i: number) => new Date(Date.UTC(2025, i, 1) - 8 * 3_600_000).toISOString();
    const randomMonth = () => Math.floor(Math.random() * months);
    const iso = (ms: number) => new Date(ms).toISOString();
    const dailyMonth = await timeRequests(
      'daily totals of all meters, one month (device × day table)',
      () => {
        const m = randomMonth();
        return `${base}/sites/${SITE}/rollup-table?metric=import_energy&level=1d&field=consumption&from=${monthStart(m)}&to=${monthStart(m + 1)}`;
      },
      50,
    );
    const dailyYear = await timeRequests(
      'daily totals of all meters, the whole year (device × day table)',
      () => `${base}/sites/${SITE}/rollup-table?metric=import_energy&level=1d&field=consumption&from=${iso(start)}&to=${iso(start + QUERY_DAYS * DAY)}`,
      20,
    );
    const dailyBucketsMonth = await timeRequests(
      'daily buckets (every statistic) of all meters, one month',
      () => {
        const m = randomMonth();
        return `${base}/sites/${SITE}/rollups?metric=import_energy&level=1d&from=${monthStart(m)}&to=${monthStart(m + 1)}`;
      },
      50,
    );
    const quarterMonth = await timeRequests(
      '15-minute series of one meter, one month',
      () => {
        const m = randomMonth();
        const meter = Math.floor(Math.random() * QUERY_METERS);
        return `${base}/series?site=${SITE}&device=meter-${meter}&metric=import_energy&step=15m&from=${monthStart(m)}&to=${monthStart(m + 1)}`;
      },
      100,
    );
    await api.close();
    await db.close();
    const figures: Record<string, number> = {
      ...compression,
      query_dataset_points: QUERY_METERS * perMeter,
      query_dataset_load_points_per_second: Math.round(load.rate),
      rollup_refresh_readings_per_second: Math.round(stats.readingsRead / rollupSeconds),
      daily_totals_all_meters_month_p50_ms: round1(dailyMonth.p50),
      daily_totals_all_meters_month_p95_ms: round1(dailyMonth.p95),
      daily_totals_all_meters_year_p50_ms: round1(dailyYear.p50),
      daily_totals_all_meters_year_p95_ms: round1(dailyYear.p95),
      daily_totals_all_meters_year_first_ms: round1(dailyYear.first),
      daily_buckets_all_meters_month_p50_ms: round1(dailyBucketsMonth.p50),
      daily_buckets_all_meters_month_p95_ms: round1(dailyBucketsMonth.p95),
      quarter_hour_series_one_meter_month_p50_ms: round1(quarterMonth.p50),
      quarter_hour_series_one_meter_month_p95_ms: round1(quarterMonth.p95),
    };
    return Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${prefix}${k}`, v]));
  }, server.adminUrl);
}

/**
 * The whole-year device × day table on PGlite or InfluxDB. The year is loaded hourly rather than every
 * 15 minutes (a quarter of the readings, to keep the run short): the daily rollup the table reads is the
 * same size either way.
 */
async function yearTableElsewhere(name: string, open: () => Promise<{ db: SqlClient; backend?: TimeSeriesBackendConfig; cleanup: () => Promise<void> }>): Promise<{ p50: number; p95: number; first: number }> {
  const { db, backend, cleanup } = await open();
  try {
    await migrate(db);
    const registry = new SiteRegistry(db);
    await registry.declareSite({ id: SITE, timeZone: 'Asia/Shanghai' });
    const store = await openTimeSeriesStore(db, backend);
    const start = Date.UTC(2025, 0, 1) - 8 * 3_600_000;
    const hour = 3_600_000;
    const perMeter = (QUERY_DAYS * DAY) / hour;
    out(`  ${name}: loading ${QUERY_METERS} meters × ${QUERY_DAYS} days of hourly readings (${(QUERY_METERS * perMeter).toLocaleString('en')} points)…`);
    const load = await ingestThroughAdapter(store, QUERY_METERS, perMeter, start, 1, hour);
    const began = performance.now();
    await store.refreshRollups();
    out(`  ${name}: loaded at ${fmt(load.rate)} points/s, rolled up in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    const { api, base } = await startApi(db, store, registry);
    const iso = (ms: number) => new Date(ms).toISOString();
    const year = await timeRequests(
      `${name}: daily totals of all meters, the whole year (device × day table)`,
      () => `${base}/sites/${SITE}/rollup-table?metric=import_energy&level=1d&field=consumption&from=${iso(start)}&to=${iso(start + QUERY_DAYS * DAY)}`,
      20,
    );
    await api.close();
    return year;
  } finally {
    await db.close();
    await cleanup();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const round1 = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  out('Gatehouse storage benchmark');
  out(describeMachine());
  const pgVersion = await (async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    const v = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
    await c.end();
    return v;
  })();
  const influxVersion = (await fetch(`${INFLUX_URL}/ping`)).headers.get('x-influxdb-version');
  out(`PostgreSQL ${pgVersion}, InfluxDB ${influxVersion}, PGlite (WASM, on disk)`);
  out();

  const meters = 500;
  const perMeter = Math.ceil(INGEST_ROWS / meters);
  const start = Date.UTC(2026, 0, 1);
  let ingest: Record<string, number> = {};
  if (process.env.GH_BENCH_SKIP_INGEST !== '1' && process.env.GH_BENCH_ONLY_TIMESCALE !== '1') ingest = await ingestBenchmark(meters, perMeter, start);

  let query: Record<string, number> = {};
  const otherQueries = process.env.GH_BENCH_SKIP_QUERY !== '1' && process.env.GH_BENCH_ONLY_TIMESCALE !== '1';
  if (otherQueries) {
    out(`Query (PostgreSQL, through the HTTP API): ${QUERY_METERS} meters × ${QUERY_DAYS} days of 15-minute data`);
    query = await queryBenchmark();
    out();
  }
  let elsewhere: Record<string, number> = {};
  if (otherQueries) {
    out(`Query (PGlite and InfluxDB, through the HTTP API): the whole-year table of ${QUERY_METERS} meters`);
    const pgliteDir = mkdtempSync(join(tmpdir(), 'gh-bench-pglite-'));
    const pglite = await yearTableElsewhere('PGlite', async () => ({ db: await createPgliteClient(pgliteDir), cleanup: async () => rmSync(pgliteDir, { recursive: true, force: true }) }));
    const influx = await yearTableElsewhere('InfluxDB', async () => {
      const database = `gh_bench_${Date.now().toString(36)}`;
      await influxQuery(`CREATE DATABASE ${database}`);
      return { db: await createPgliteClient(undefined), backend: { kind: 'influxdb', url: INFLUX_URL, database }, cleanup: () => influxQuery(`DROP DATABASE ${database}`) };
    });
    elsewhere = {
      pglite_daily_totals_all_meters_year_p50_ms: round1(pglite.p50),
      pglite_daily_totals_all_meters_year_p95_ms: round1(pglite.p95),
      pglite_daily_totals_all_meters_year_first_ms: round1(pglite.first),
      influxdb_daily_totals_all_meters_year_p50_ms: round1(influx.p50),
      influxdb_daily_totals_all_meters_year_p95_ms: round1(influx.p95),
      influxdb_daily_totals_all_meters_year_first_ms: round1(influx.first),
    };
    out();
  }
  let timescale: Record<string, number> = {};
  if (process.env.GH_BENCH_SKIP_TIMESCALE !== '1') {
    out(`TimescaleDB (${TIMESCALE_ADMIN_URL.replace(/\/\/[^@]*@/, '//')})`);
    if (process.env.GH_BENCH_SKIP_INGEST !== '1' && process.env.GH_BENCH_ONLY_TIMESCALE !== '1') {
      const ts = await postgresIngest(meters, perMeter, start, TIMESCALE, false);
      out(`  adapter / COPY into the same hypertable: ${((ts.adapter / ts.copy) * 100).toFixed(0)} %`);
      timescale = {
        timescale_adapter_points_per_second: Math.round(ts.adapter),
        timescale_copy_points_per_second: Math.round(ts.copy),
        timescale_ingest_ratio_vs_copy: Math.round((ts.adapter / ts.copy) * 100) / 100,
      };
    }
    if (process.env.GH_BENCH_SKIP_QUERY !== '1') {
      out(`Query (TimescaleDB, compressed, through the HTTP API): ${QUERY_METERS} meters × ${QUERY_DAYS} days of 15-minute data`);
      timescale = { ...timescale, ...(await queryBenchmark({ ...TIMESCALE, timescale: { ...TIMESCALE.timescale, compressAfterDays: 7 } }, 'timescale_')) };
    }
    out();
  }
  out(JSON.stringify({ ...ingest, ...query, ...elsewhere, ...timescale }));
}

async function ingestBenchmark(meters: number, perMeter: number, start: number): Promise<Record<string, number>> {
  out(`Ingest: ${(meters * perMeter).toLocaleString('en')} points (${meters} meters × ${perMeter} readings), batches of ${MAX_READINGS_PER_BATCH}`);
  const postgres = await postgresIngest(meters, perMeter, start);
  out(`  adapter / COPY: ${((postgres.adapter / postgres.copy) * 100).toFixed(0)} % with one writer, ${((postgres.adapterTwoWriters / postgres.copy) * 100).toFixed(0)} % with two`);
  const influx = await otherIngest('InfluxDB', meters, perMeter, start, async () => {
    const database = `gh_bench_${Date.now().toString(36)}`;
    await influxQuery(`CREATE DATABASE ${database}`);
    return { db: await createPgliteClient(undefined), backend: { kind: 'influxdb', url: INFLUX_URL, database }, cleanup: () => influxQuery(`DROP DATABASE ${database}`) };
  });
  const pgliteDir = mkdtempSync(join(tmpdir(), 'gh-bench-pglite-'));
  const pglite = await otherIngest('PGlite', meters, perMeter, start, async () => ({ db: await createPgliteClient(pgliteDir), cleanup: async () => rmSync(pgliteDir, { recursive: true, force: true }) }));
  out();
  return {
    ingest_points: meters * perMeter,
    postgres_adapter_points_per_second: Math.round(postgres.adapter),
    postgres_adapter_two_writers_points_per_second: Math.round(postgres.adapterTwoWriters),
    postgres_copy_points_per_second: Math.round(postgres.copy),
    postgres_ingest_ratio_vs_copy: Math.round((postgres.adapter / postgres.copy) * 100) / 100,
    postgres_ingest_ratio_vs_copy_two_writers: Math.round((postgres.adapterTwoWriters / postgres.copy) * 100) / 100,
    influxdb_adapter_points_per_second: Math.round(influx),
    pglite_adapter_points_per_second: Math.round(pglite),
  };
}

main().catch((err: Error) => {
  process.stderr.write(`bench:storage failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
