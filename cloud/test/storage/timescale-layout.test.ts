import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '@gatehouse/contracts';
import { createPostgresClient, migrate, openTimeSeriesStore, type SqlClient, type TimeSeriesStore } from '@gatehouse/cloud';
import { SqlTimeSeriesStore } from '../../src/storage/sql/sql-time-series-store.js';
import { createTestDatabase, createTimescaleTestDatabase } from '../../../test/support/real-services.js';

// Readings on TimescaleDB: an existing database of monthly partitions converted to a hypertable with
// nothing lost; replayed and late readings into compressed chunks stored exactly once, rollups
// recomputed; a database without its TimescaleDB refused; settings changed by hand reported.

const GW = { site: 'ts-site', gateway: 'gw-01' };
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 7, 30, 0, 0); // 30 August 2026: three months of readings reach into November
const counter = (device: string, ts: number, value: number): Reading => ({ device, metric: 'import_energy', unit: 'kWh', kind: 'counter', ts, value, quality: 'good' });
const hourly = (device: string, hours: number, start = T0) => Array.from({ length: hours }, (_, i) => counter(device, start + i * HOUR, 1000 + i * 2.5));
const TIMESCALE = { use: 'require' as const, chunkDays: 7, compressAfterDays: 7 };

describe('TimescaleDB layout (TimescaleDB server)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: SqlClient;

  beforeAll(async () => {
    database = await createTimescaleTestDatabase('gh_tsdb_layout');
    db = createPostgresClient({ connectionString: database.url });
    await migrate(db);
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const count = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings'))[0]!.n;

  it('converts monthly partitions into a hypertable, every reading kept, exactly', async () => {
    const plain = await openTimeSeriesStore(db, undefined, { ...TIMESCALE, use: 'never' });
    expect(plain.backend).toBe('postgres');
    // Three months of two meters, hourly: partitions for August to November.
    const written = [...hourly('m1', 24 * 70), ...hourly('m2', 24 * 70)];
    expect(await plain.write(GW, written)).toEqual({ inserted: written.length, duplicates: 0 });
    const partitions = await db.query<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass ORDER BY 1");
    expect(partitions.map((p) => p.name)).toEqual(['readings_p2026_08', 'readings_p2026_09', 'readings_p2026_10', 'readings_p2026_11']);
    const before = await db.query<{ sum: number }>('SELECT sum(value)::float8 AS sum FROM readings');

    const store = await openTimeSeriesStore(db, undefined, TIMESCALE);
    expect(store.backend).toBe('timescaledb');
    expect(await count()).toBe(written.length);
    expect(await db.query<{ sum: number }>('SELECT sum(value)::float8 AS sum FROM readings')).toEqual(before);
    const [hypertable] = await db.query<{ compression_enabled: boolean }>("SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'");
    expect(hypertable?.compression_enabled).toBe(true);
    const [policy] = await db.query<{ after: string }>("SELECT config->>'compress_after' AS after FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = 'readings'");
    expect(policy?.after).toBe('7 days');
    // The tests below compress chunks themselves: the policy's job (which would compress all of these
    // old readings whenever it wakes) is paused in this database so that they see only their own steps.
    await db.query("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = 'readings'");
    expect(await db.query("SELECT 1 FROM pg_class WHERE relname LIKE 'readings_p2026_%'")).toHaveLength(0);
    const series = await store.series(GW.site, 'm1', 'import_energy');
    const raw = await store.readRaw(series!, T0, T0 + 24 * 70 * HOUR, 10_000);
    expect(raw.map((p) => p.value)).toEqual(hourly('m1', 24 * 70).map((r) => r.value));
    // A second start finds the hypertable and changes nothing.
    const again = await openTimeSeriesStore(db, undefined, TIMESCALE);
    expect((again as SqlTimeSeriesStore).layout).toMatchObject({ kind: 'hypertable', notes: [] });
    expect(await count()).toBe(written.length);
  });

  it('stores replayed and late readings into compressed chunks exactly once, and the rollups follow', async () => {
    const store: TimeSeriesStore = await openTimeSeriesStore(db, undefined, TIMESCALE);
    await store.refreshRollups();
    const compressed = await db.query<{ chunk: string }>("SELECT compress_chunk(c, if_not_compressed => true)::text AS chunk FROM show_chunks('readings', older_than => '2026-11-01'::timestamptz) c");
    expect(compressed.length).toBeGreaterThanOrEqual(8);
    // (The compression policy's own job may compress the later chunks meanwhile: these are compressed either way.)
    const [state] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'readings' AND is_compressed AND range_end <= '2026-11-01'::timestamptz",
    );
    expect(state!.n).toBe(compressed.length);

    // The gateway replays a day of September: nothing new.
    const replay = hourly('m1', 24, T0 + 10 * 24 * HOUR).map((r, i) => ({ ...r, value: 1000 + (240 + i) * 2.5 }));
    expect(await store.write(GW, replay)).toEqual({ inserted: 0, duplicates: 24 });
    // A late half-hour reading in the middle of a compressed chunk is stored once, replayed twice.
    const late = counter('m1', T0 + 10 * 24 * HOUR + 30 * 60_000, 1000 + 240.5 * 2.5);
    expect(await store.write(GW, [late])).toEqual({ inserted: 1, duplicates: 0 });
    expect(await store.write(GW, [late, late])).toEqual({ inserted: 0, duplicates: 2 });
    expect(await count()).toBe(2 * 24 * 70 + 1);
    await store.refreshRollups();
    const series = await store.series(GW.site, 'm1', 'import_energy');
    const quarters = (await store.readRollup('15m', [series!], T0 + 10 * 24 * HOUR, T0 + 10 * 24 * HOUR + HOUR)).get(series!.id)!;
    // The hour's 2.5 kWh now split at the late reading: 1.25 up to 00:30, 1.25 after (a step counts
    // in the quarter hour it ends in).
    expect(quarters.map((b) => [b.count, b.consumption])).toEqual([
      [1, 0],
      [0, 1.25],
      [1, 0],
      [0, 1.25],
    ]);
    // The site's day (Asia/Shanghai) that holds it: 24 hourly readings and the late one.
    const dayStart = T0 + 10 * 24 * HOUR - 8 * HOUR;
    const day = (await store.readRollup('1d', [series!], dayStart, dayStart + 1)).get(series!.id)!;
    expect(day.map((b) => [b.count, b.consumption])).toEqual([[25, expect.closeTo(24 * 2.5, 9)]]);
  });

  it('drops whole chunks, compressed or not, for raw retention', async () => {
    const store = await openTimeSeriesStore(db, undefined, TIMESCALE);
    const before = Date.UTC(2026, 8, 20);
    const [older] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE ts < to_timestamp($1 / 1000.0)', [before]);
    const total = await count();
    expect(await store.deleteBefore('raw', before)).toBe(older!.n);
    expect(await count()).toBe(total - older!.n);
    expect(await db.query('SELECT 1 FROM readings WHERE ts < to_timestamp($1 / 1000.0)', [before])).toHaveLength(0);
  });

  it('keeps raw readings and each rollup level by TimescaleDB retention policies, as configured', async () => {
    const store = await openTimeSeriesStore(db, undefined, TIMESCALE);
    const hypertables = await db.query<{ name: string }>("SELECT hypertable_name AS name FROM timescaledb_information.hypertables ORDER BY 1");
    expect(hypertables.map((h) => h.name)).toEqual(['readings', 'rollup_15m', 'rollup_1d', 'rollup_1h', 'rollup_1mo']);
    const policies = async () =>
      (await db.query<{ table: string; after: string }>("SELECT hypertable_name AS table, config->>'drop_after' AS after FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' ORDER BY 1")).map((p) => [p.table, p.after]);
    expect(await store.retainByPolicy!({ raw: 400, '15m': 800 })).toEqual({ targets: ['raw', '15m', '1h', '1d', '1mo'], notes: [] });
    expect(await policies()).toEqual([
      ['readings', '400 days'],
      ['rollup_15m', '800 days'],
    ]);
    // The next start with other settings: brought to them, saying so.
    expect((await store.retainByPolicy!({ raw: 300, '1h': 1900 })).notes).toEqual([
      'readings: retention changed from 400 days to 300 days, as configured',
      'rollup_15m: retention policy (drop after 800 days) removed: the configuration keeps it forever',
    ]);
    expect(await policies()).toEqual([
      ['readings', '300 days'],
      ['rollup_1h', '1900 days'],
    ]);
    // The rollups on hypertables still read and refresh.
    await store.refreshRollups();
    const series = await store.series(GW.site, 'm2', 'import_energy');
    expect((await store.readRollup('1mo', [series!], Date.UTC(2026, 8, 30, 16), Date.UTC(2026, 8, 30, 17))).get(series!.id)).toHaveLength(1);
  });

  it('reports a chunk interval and a compression policy changed by hand, and leaves them', async () => {
    await db.query("SELECT remove_compression_policy('readings')");
    await db.query("SELECT add_compression_policy('readings', compress_after => interval '30 days')");
    const store = (await openTimeSeriesStore(db, undefined, { ...TIMESCALE, chunkDays: 14 })) as SqlTimeSeriesStore;
    expect(store.layout.kind === 'hypertable' && store.layout.notes).toEqual([
      "readings' chunks are 7 days, the configuration says 14: left as it is (set_chunk_time_interval changes it for new chunks)",
      "readings' compression policy compresses after 30 days, the configuration says 7 days: left as it is",
    ]);
    const [policy] = await db.query<{ after: string }>("SELECT config->>'compress_after' AS after FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = 'readings'");
    expect(policy?.after).toBe('30 days');
  });
});

describe('TimescaleDB refused or absent (plain PostgreSQL server)', () => {
  it('refuses to start on a database whose readings were a hypertable but which has no TimescaleDB', async () => {
    const database = await createTestDatabase('gh_tsdb_lost');
    const db = createPostgresClient({ connectionString: database.url });
    try {
      await migrate(db);
      await db.execute("INSERT INTO storage_layout (name, value) VALUES ('readings', 'hypertable')");
      await expect(openTimeSeriesStore(db)).rejects.toThrow(/readings were stored in a TimescaleDB hypertable, but this database has no timescaledb extension/);
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it('keeps the partitions where TimescaleDB cannot be had, and refuses "require" there, saying why', async () => {
    const database = await createTestDatabase('gh_tsdb_absent');
    const db = createPostgresClient({ connectionString: database.url });
    try {
      await migrate(db);
      expect((await openTimeSeriesStore(db)).backend).toBe('postgres');
      await expect(openTimeSeriesStore(db, undefined, TIMESCALE)).rejects.toThrow(/^storage\.timescale\.use is "require" but /);
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
