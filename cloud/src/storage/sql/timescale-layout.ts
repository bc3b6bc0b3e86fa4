import type { SqlClient, SqlExecutor } from '../sql-client.js';
import type { RetentionTarget } from '../time-series-store.js';

/** How the cloud uses TimescaleDB on a PostgreSQL database (storage.timescale in the configuration). */
export interface TimescaleOptions {
  /** auto: use it when the extension can be had; require: refuse to start without it; never: plain partitions */
  use: 'auto' | 'require' | 'never';
  /**
   * Days of readings per chunk. A week of a 1,000-meter site at one reading a minute is ~10 M rows,
   * ~0.5 GiB before compression: recent chunks and their indexes stay in memory, and a chunk is
   * compressed (and dropped by retention) as a whole.
   */
  chunkDays: number;
  /** compress chunks older than this (columnstore, segmented by series); null: no compression */
  compressAfterDays: number | null;
}

export const DEFAULT_TIMESCALE: TimescaleOptions = { use: 'auto', chunkDays: 7, compressAfterDays: 7 };

/** The oldest TimescaleDB whose hypertables take INSERT … ON CONFLICT into compressed chunks, and by_range(). */
export const MIN_TIMESCALE_VERSION = '2.13.0';

/** Where the readings live: the service's monthly partitions, or a TimescaleDB hypertable. */
export type ReadingsLayout = { kind: 'partitions' } | { kind: 'hypertable'; version: string; compression: boolean; notes: string[] };

/** Refused to start: what is wrong with the database's TimescaleDB, and what to do. */
export class TimescaleError extends Error {
  override readonly name = 'TimescaleError';
}

// Serialises the conversion when several cloud instances start against one database.
const LAYOUT_LOCK_ID = 7_362_002;

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!;
  }
  return true;
}

/**
 * Decides where readings live on this database and makes it so: on a database where TimescaleDB is
 * installed (or can be: CREATE EXTENSION), `readings` becomes a hypertable (converted from the monthly
 * partitions once, in one transaction, nothing lost) with native compression and its policy; elsewhere
 * the partitions stay. A database whose readings are a hypertable but whose TimescaleDB is gone or not
 * loaded refuses to start rather than run degraded. Settings found different from the configuration
 * (a chunk interval or compression policy changed by hand) are reported in `notes`, never altered.
 */
export async function prepareReadingsLayout(db: SqlClient, options: TimescaleOptions = DEFAULT_TIMESCALE): Promise<ReadingsLayout> {
  if (db.kind !== 'postgres') return { kind: 'partitions' };
  const [recorded] = await db.query<{ value: string }>("SELECT value FROM storage_layout WHERE name = 'readings'");
  let version = await installedVersion(db);

  if (version === undefined && recorded?.value === 'hypertable') {
    throw new TimescaleError(
      'readings were stored in a TimescaleDB hypertable, but this database has no timescaledb extension: install TimescaleDB on this server ' +
        '(and restore the database with it), or point the cloud at the database that has it; the cloud does not run without its readings',
    );
  }
  if (version === undefined && options.use !== 'never') version = await tryCreateExtension(db, options.use === 'require');
  if (version === undefined || options.use === 'never') {
    if (recorded?.value === 'hypertable') throw new TimescaleError('readings are a TimescaleDB hypertable: storage.timescale.use cannot be "never" on this database');
    return { kind: 'partitions' };
  }
  if (!versionAtLeast(version, MIN_TIMESCALE_VERSION)) {
    throw new TimescaleError(`TimescaleDB ${version} is installed in this database; the cloud needs ${MIN_TIMESCALE_VERSION} or later (ALTER EXTENSION timescaledb UPDATE after upgrading the package)`);
  }
  // Installed but not preloaded (shared_preload_libraries lost it): every hypertable query would fail.
  try {
    await db.query('SELECT count(*) FROM timescaledb_information.hypertables');
  } catch (err) {
    throw new TimescaleError(`TimescaleDB ${version} is installed in this database but cannot be used (${(err as Error).message}): add timescaledb to shared_preload_libraries and restart PostgreSQL`);
  }

  const notes: string[] = [];
  await db.withSessionLock(LAYOUT_LOCK_ID, async () => {
    await db.transaction(async (tx) => {
      if (!(await isHypertable(tx))) await convertReadings(tx, options.chunkDays);
      else notes.push(...(await chunkIntervalNotes(tx, options.chunkDays)));
      await convertRollups(tx);
      await tx.execute("INSERT INTO storage_layout (name, value) VALUES ('readings', 'hypertable') ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value");
    });
    notes.push(...(await setUpCompression(db, options.compressAfterDays)));
  });
  const compression = (await db.query<{ on: boolean }>("SELECT compression_enabled AS on FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'"))[0]?.on ?? false;
  return { kind: 'hypertable', version, compression, notes };
}

async function installedVersion(db: SqlExecutor): Promise<string | undefined> {
  const [row] = await db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
  return row?.extversion;
}

async function tryCreateExtension(db: SqlClient, required: boolean): Promise<string | undefined> {
  const [available] = await db.query<{ name: string }>("SELECT name FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (!available) {
    if (required) throw new TimescaleError('storage.timescale.use is "require" but TimescaleDB is not installed on this PostgreSQL server (no timescaledb extension available)');
    return undefined;
  }
  try {
    await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  } catch (err) {
    // The package is installed but this server does not preload it, or we may not create extensions.
    if (required) throw new TimescaleError(`storage.timescale.use is "require" but CREATE EXTENSION timescaledb failed: ${(err as Error).message}`);
    return undefined;
  }
  return installedVersion(db);
}

async function isHypertable(tx: SqlExecutor): Promise<boolean> {
  const rows = await tx.query("SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = current_schema() AND hypertable_name = 'readings'");
  return rows.length > 0;
}

/**
 * The monthly partitions become one hypertable: a new table with the same columns and key, made a
 * hypertable on ts, filled from the old one, which then goes. One transaction: all or nothing.
 */
async function convertReadings(tx: SqlExecutor, chunkDays: number): Promise<void> {
  await tx.exec(`
    CREATE TABLE readings_hypertable (
      series_id integer NOT NULL,
      ts timestamptz NOT NULL,
      value double precision,
      quality text NOT NULL,
      agg_count integer,
      agg_min double precision,
      agg_max double precision,
      CONSTRAINT readings_hypertable_pkey PRIMARY KEY (series_id, ts)
    )`);
  // No separate index on ts: the key's (series_id, ts) serves the per-series reads, chunk exclusion the ranges.
  await tx.query(`SELECT create_hypertable('readings_hypertable', by_range('ts', $1::interval), create_default_indexes => false)`, [`${chunkDays} days`]);
  await tx.execute('INSERT INTO readings_hypertable SELECT series_id, ts, value, quality, agg_count, agg_min, agg_max FROM readings');
  await tx.exec(`
    DROP TABLE readings CASCADE;
    ALTER TABLE readings_hypertable RENAME TO readings;
    ALTER INDEX readings_hypertable_pkey RENAME TO readings_pkey`);
}

/** Each rollup table's chunk: a few hundred thousand rows for a 1,000-meter site, so retention drops whole chunks. */
export const ROLLUP_CHUNKS: Record<'15m' | '1h' | '1d' | '1mo', string> = { '15m': '30 days', '1h': '120 days', '1d': '3 years', '1mo': '30 years' };

/** The rollup tables become hypertables in place (their rows moved into chunks), so retention is a chunk drop. */
async function convertRollups(tx: SqlExecutor): Promise<void> {
  for (const [level, chunk] of Object.entries(ROLLUP_CHUNKS)) {
    await tx.query(`SELECT create_hypertable('rollup_${level}', by_range('bucket', $1::interval), create_default_indexes => false, migrate_data => true, if_not_exists => true)`, [chunk]);
  }
}

const RETENTION_TABLES: Record<RetentionTarget, string> = { raw: 'readings', '15m': 'rollup_15m', '1h': 'rollup_1h', '1d': 'rollup_1d', '1mo': 'rollup_1mo' };

/**
 * TimescaleDB's own retention policies (chunk drops in its job scheduler) for every level the
 * configuration limits: made, or brought to the configured age (saying so); a policy on a level the
 * configuration keeps forever is removed, saying so. Returns what changed, for the log.
 */
export async function applyRetentionPolicies(db: SqlClient, days: Partial<Record<RetentionTarget, number>>): Promise<string[]> {
  const notes: string[] = [];
  const policies = await db.query<{ table: string; after: string }>(
    `SELECT hypertable_name AS table, config->>'drop_after' AS after FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'`,
  );
  for (const [target, table] of Object.entries(RETENTION_TABLES) as [RetentionTarget, string][]) {
    const wanted = days[target];
    const existing = policies.find((p) => p.table === table);
    if (wanted === undefined) {
      if (existing) {
        await db.query('SELECT remove_retention_policy($1::regclass)', [table]);
        notes.push(`${table}: retention policy (drop after ${existing.after}) removed: the configuration keeps it forever`);
      }
      continue;
    }
    if (existing) {
      const [same] = await db.query<{ same: boolean }>('SELECT $1::interval = $2::interval AS same', [existing.after, `${wanted} days`]);
      if (same?.same) continue;
      await db.query('SELECT remove_retention_policy($1::regclass)', [table]);
      notes.push(`${table}: retention changed from ${existing.after} to ${wanted} days, as configured`);
    }
    await db.query('SELECT add_retention_policy($1::regclass, drop_after => $2::interval)', [table, `${wanted} days`]);
  }
  return notes;
}

async function chunkIntervalNotes(tx: SqlExecutor, chunkDays: number): Promise<string[]> {
  const [dim] = await tx.query<{ column_name: string; days: number | null }>(
    `SELECT column_name, (extract(epoch from time_interval) / 86400)::float8 AS days FROM timescaledb_information.dimensions
      WHERE hypertable_name = 'readings' ORDER BY dimension_number LIMIT 1`,
  );
  if (!dim) return [];
  const notes: string[] = [];
  if (dim.column_name !== 'ts') notes.push(`readings is a hypertable on "${dim.column_name}", not on ts: made by hand? left as it is`);
  else if (dim.days !== null && Math.abs(dim.days - chunkDays) > 1e-9) {
    notes.push(`readings' chunks are ${dim.days} days, the configuration says ${chunkDays}: left as it is (set_chunk_time_interval changes it for new chunks)`);
  }
  return notes;
}

/** Columnstore segmented by series and ordered by time, and its policy; a policy changed by hand is reported, not replaced. */
async function setUpCompression(db: SqlClient, compressAfterDays: number | null): Promise<string[]> {
  const [state] = await db.query<{ on: boolean }>("SELECT compression_enabled AS on FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'");
  const [policy] = await db.query<{ job_id: number; after: string | null }>(
    `SELECT job_id, config->>'compress_after' AS after FROM timescaledb_information.jobs
      WHERE proc_name = 'policy_compression' AND hypertable_name = 'readings'`,
  );
  if (compressAfterDays === null) return policy ? [`a compression policy on readings exists (after ${policy.after}) though the configuration sets none: left as it is`] : [];
  if (!state?.on) await db.exec("ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'ts')");
  if (!policy) {
    await db.query("SELECT add_compression_policy('readings', compress_after => $1::interval)", [`${compressAfterDays} days`]);
    return [];
  }
  const [same] = await db.query<{ same: boolean }>('SELECT $1::interval = $2::interval AS same', [policy.after, `${compressAfterDays} days`]);
  return same?.same ? [] : [`readings' compression policy compresses after ${policy.after}, the configuration says ${compressAfterDays} days: left as it is`];
}
