import type { GatewayAddress, Quality, Reading } from '@gatehouse/contracts';
import { PendingRanges, RollupMaintainer, type RollupBackend, type SeriesSpan } from '../rollups/rollup-maintainer.js';
import type { CounterAnchor } from '../rollups/bucket-calculator.js';
import type { RollupLevel } from '../rollups/site-calendar.js';
import { CataloguedStore } from '../catalogued-store.js';
import type { SeriesCatalogue } from '../series-catalogue.js';
import type { SqlClient } from '../sql-client.js';
import type {
  Bucket,
  FieldColumn,
  RollupField,
  LatestReading,
  RawPoint,
  RetentionTarget,
  RollupRefreshStats,
  SeriesRef,
  TimeSeriesStore,
  WriteResult,
} from '../time-series-store.js';
import { monthStartUtc, partitionName, ReadingPartitions } from './reading-partitions.js';
import { applyRetentionPolicies, type ReadingsLayout } from './timescale-layout.js';

/** Epoch milliseconds of a timestamptz column, as a float8 both drivers return as a number. */
const EPOCH_MS = (column: string) => `round(extract(epoch from ${column}) * 1000)::float8`;
const TABLE: Record<RollupLevel, string> = { '15m': 'rollup_15m', '1h': 'rollup_1h', '1d': 'rollup_1d', '1mo': 'rollup_1mo' };
const ANCHOR_QUALITIES = `('good', 'counter_reset', 'counter_rollover')`;
/** Rows per INSERT statement: large enough to amortise the round trip, small enough for one message. */
const WRITE_CHUNK = 20_000;

interface RawRow {
  ts: number;
  value: number | null;
  quality: Quality;
  agg_count: number | null;
  agg_min: number | null;
  agg_max: number | null;
}

const UNIQUE_VIOLATION = '23505';

/** One statement: the readings and the interval the rollups must catch up on commit together. */
const insertReadings = (onConflict: string) => `
  WITH pending AS (
    INSERT INTO rollup_pending (series_ids, from_ts, to_ts) VALUES ($8::int[], to_timestamp($9 / 1000.0), to_timestamp($10 / 1000.0)))
  INSERT INTO readings (series_id, ts, value, quality, agg_count, agg_min, agg_max)
    SELECT s, to_timestamp(t / 1000.0), v, q, ac, amin, amax
      FROM unnest($1::int[], $2::float8[], $3::float8[], $4::text[], $5::int[], $6::float8[], $7::float8[]) AS x (s, t, v, q, ac, amin, amax)
  ${onConflict}`;

/** A PostgreSQL array literal of numbers: `{1,2.5,NULL}`. */
function arrayLiteral(values: readonly (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

/** The parameters of insertReadings: array parameters go as ready-made literals (pg's own array serialiser is the slowest step). */
function insertParams(chunk: readonly Reading[], ids: readonly number[], seriesIds: string, from: number, to: number): unknown[] {
  const compacted = chunk.some((r) => r.aggregate);
  return [
    arrayLiteral(ids),
    arrayLiteral(chunk.map((r) => r.ts)),
    arrayLiteral(chunk.map((r) => r.value)),
    // Quality names are plain identifiers: nothing to quote.
    `{${chunk.map((r) => r.quality).join(',')}}`,
    // unnest pads shorter arrays with nulls: batches without compacted readings send none.
    compacted ? arrayLiteral(chunk.map((r) => r.aggregate?.count ?? null)) : null,
    compacted ? arrayLiteral(chunk.map((r) => r.aggregate?.min ?? null)) : null,
    compacted ? arrayLiteral(chunk.map((r) => r.aggregate?.max ?? null)) : null,
    seriesIds,
    from,
    to,
  ];
}

/** Rows per piece of COPY text: the server parses one piece while the next is being built. */
const COPY_PIECE = 1_000;

/** COPY text (tab-separated, `\N` for null) of the readings, in pieces made as they are asked for. */
function* copyText(chunk: readonly Reading[], ids: readonly number[], isoOf: Map<number, string>): Generator<string> {
  for (let start = 0; start < chunk.length; start += COPY_PIECE) {
    let text = '';
    const end = Math.min(start + COPY_PIECE, chunk.length);
    for (let i = start; i < end; i++) {
      const r = chunk[i]!;
      const a = r.aggregate;
      text += `${ids[i]}\t${isoOf.get(r.ts)}\t${r.value === null ? '\\N' : r.value}\t${r.quality}\t${a ? `${a.count}\t${a.min}\t${a.max}` : '\\N\t\\N\t\\N'}\n`;
    }
    yield text;
  }
}

function toPoint(row: RawRow): RawPoint {
  const point: RawPoint = { ts: row.ts, value: row.value, quality: row.quality };
  if (row.agg_count !== null && row.agg_min !== null && row.agg_max !== null) point.aggregate = { count: row.agg_count, min: row.agg_min, max: row.agg_max };
  return point;
}

/**
 * Readings in PostgreSQL or PGlite: `readings` range-partitioned by month with a primary key on
 * (series_id, ts), so a replayed reading hits the key and changes nothing, and a BRIN index on ts for
 * scans across series; rollup tables per level maintained by the service (RollupMaintainer).
 * The write and the record of which intervals it changed are one statement, so one commits with the other.
 */
export class SqlTimeSeriesStore extends CataloguedStore implements TimeSeriesStore, RollupBackend {
  readonly backend: string;
  private readonly partitions: ReadingPartitions;
  private readonly rollups: RollupMaintainer;

  constructor(
    private readonly db: SqlClient,
    catalogue: SeriesCatalogue,
    /** monthly partitions made by the service, or a TimescaleDB hypertable that makes its own chunks */
    readonly layout: ReadingsLayout = { kind: 'partitions' },
  ) {
    super(catalogue);
    this.backend = layout.kind === 'hypertable' ? 'timescaledb' : db.kind;
    this.partitions = new ReadingPartitions(db);
    this.rollups = new RollupMaintainer(db, new PendingRanges(db), this);
  }

  async write(origin: GatewayAddress, readings: readonly Reading[]): Promise<WriteResult> {
    if (readings.length === 0) return { inserted: 0, duplicates: 0 };
    const series = await this.catalogue.resolve(origin.site, readings);
    let inserted = 0;
    for (let i = 0; i < readings.length; i += WRITE_CHUNK) {
      const chunk = readings.slice(i, i + WRITE_CHUNK);
      const ids = series.slice(i, i + WRITE_CHUNK).map((s) => s.id);
      // A poll round stamps all of its readings with one time: each distinct time is formatted once.
      const times = new Set<number>();
      let from = Infinity;
      let to = -Infinity;
      for (const r of chunk) {
        if (times.has(r.ts)) continue;
        times.add(r.ts);
        if (r.ts < from) from = r.ts;
        if (r.ts > to) to = r.ts;
      }
      if (this.layout.kind === 'partitions') await this.partitions.ensureFor(times);
      const seriesIds = arrayLiteral([...new Set(ids)]);
      // Optimistic: a batch is almost always new. On PostgreSQL it goes by COPY in the same transaction
      // as its pending interval (no array literals to build or parse); on PGlite by a plain INSERT, which
      // costs half of ON CONFLICT's speculative insertion. The primary key still refuses a reading stored
      // before; then nothing of the batch is kept and it is written again, skipping what is there.
      try {
        inserted += this.db.kind === 'postgres' ? await this.copyBatch(this.copyTarget(from, to), chunk, ids, times, seriesIds, from, to) : await this.db.execute(insertReadings(''), insertParams(chunk, ids, seriesIds, from, to));
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        inserted += await this.db.execute(insertReadings('ON CONFLICT (series_id, ts) DO NOTHING'), insertParams(chunk, ids, seriesIds, from, to));
      }
    }
    return { inserted, duplicates: readings.length - inserted };
  }

  /**
   * Where a batch is copied to: a batch within one month goes straight into that month's partition,
   * which spares PostgreSQL setting up tuple routing for every COPY (the partition still checks its
   * bounds, and the primary key includes the time, so a replayed reading is refused there all the same).
   */
  private copyTarget(from: number, to: number): string {
    if (this.layout.kind !== 'partitions') return 'readings';
    const month = monthStartUtc(from);
    return month === monthStartUtc(to) ? partitionName(month) : 'readings';
  }

  /** The batch by COPY and its pending interval, in one transaction: one commits with the other. */
  private async copyBatch(table: string, chunk: readonly Reading[], ids: readonly number[], times: ReadonlySet<number>, seriesIds: string, from: number, to: number): Promise<number> {
    const isoOf = new Map([...times].map((ts) => [ts, new Date(ts).toISOString()]));
    return this.db.transaction(async (tx) => {
      await tx.execute('INSERT INTO rollup_pending (series_ids, from_ts, to_ts) VALUES ($1::int[], to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0))', [seriesIds, from, to]);
      return tx.copyFrom!(`COPY ${table} (series_id, ts, value, quality, agg_count, agg_min, agg_max) FROM STDIN`, copyText(chunk, ids, isoOf));
    });
  }

  async readRaw(series: SeriesRef, from: number, to: number, limit: number): Promise<RawPoint[]> {
    const rows = await this.db.query<RawRow>(
      `SELECT ${EPOCH_MS('ts')} AS ts, value, quality, agg_count, agg_min, agg_max FROM readings
        WHERE series_id = $1 AND ts >= to_timestamp($2 / 1000.0) AND ts < to_timestamp($3 / 1000.0)
        ORDER BY ts LIMIT $4`,
      [series.id, from, to, limit],
    );
    return rows.map(toPoint);
  }

  async readRawPage(series: SeriesRef, from: number, to: number, after: number | undefined, limit: number): Promise<RawPoint[]> {
    const rows = await this.db.query<RawRow>(
      `SELECT ${EPOCH_MS('ts')} AS ts, value, quality, agg_count, agg_min, agg_max FROM readings
        WHERE series_id = $1 AND ts >= to_timestamp($2 / 1000.0) AND ts <= to_timestamp($3 / 1000.0)
          AND ts > to_timestamp($4 / 1000.0)
        ORDER BY ts LIMIT $5`,
      [series.id, from, to, after ?? from - 1, limit],
    );
    return rows.map(toPoint);
  }

  async lastAnchorBefore(series: SeriesRef, ts: number): Promise<CounterAnchor | undefined> {
    return (await this.lastAnchorsBefore([{ series, ts }])).get(series.id);
  }

  async lastAnchorsBefore(at: readonly { series: SeriesRef; ts: number }[]): Promise<Map<number, CounterAnchor>> {
    if (at.length === 0) return new Map();
    const rows = await this.db.query<CounterAnchor & { series_id: number }>(
      `SELECT w.id AS series_id, ${EPOCH_MS('r.ts')} AS ts, r.value
         FROM unnest($1::int[], $2::float8[]) AS w (id, t)
         CROSS JOIN LATERAL (
           SELECT ts, value FROM readings
            WHERE series_id = w.id AND ts < to_timestamp(w.t / 1000.0) AND value IS NOT NULL AND quality IN ${ANCHOR_QUALITIES}
            ORDER BY ts DESC LIMIT 1) r`,
      [arrayLiteral(at.map((a) => a.series.id)), arrayLiteral(at.map((a) => a.ts))],
    );
    return new Map(rows.map((r) => [r.series_id, { ts: r.ts, value: r.value }]));
  }

  async firstAnchorsAfter(at: readonly { series: SeriesRef; ts: number }[]): Promise<Map<number, number>> {
    if (at.length === 0) return new Map();
    const rows = await this.db.query<{ series_id: number; ts: number }>(
      `SELECT w.id AS series_id, ${EPOCH_MS('r.ts')} AS ts
         FROM unnest($1::int[], $2::float8[]) AS w (id, t)
         CROSS JOIN LATERAL (
           SELECT ts FROM readings
            WHERE series_id = w.id AND ts > to_timestamp(w.t / 1000.0) AND value IS NOT NULL AND quality IN ${ANCHOR_QUALITIES}
            ORDER BY ts LIMIT 1) r`,
      [arrayLiteral(at.map((a) => a.series.id)), arrayLiteral(at.map((a) => a.ts))],
    );
    return new Map(rows.map((r) => [r.series_id, r.ts]));
  }

  async readRawSpans(spans: readonly SeriesSpan[]): Promise<Map<number, RawPoint[]>> {
    const out = new Map<number, RawPoint[]>(spans.map((s) => [s.series.id, []]));
    if (spans.length === 0) return out;
    const rows = await this.db.query<RawRow & { series_id: number }>(
      `SELECT w.id AS series_id, ${EPOCH_MS('r.ts')} AS ts, r.value, r.quality, r.agg_count, r.agg_min, r.agg_max
         FROM unnest($1::int[], $2::float8[], $3::float8[]) AS w (id, f, t)
         CROSS JOIN LATERAL (
           SELECT ts, value, quality, agg_count, agg_min, agg_max FROM readings
            WHERE series_id = w.id AND ts >= to_timestamp(w.f / 1000.0) AND ts <= to_timestamp(w.t / 1000.0)
              AND ts >= to_timestamp($4 / 1000.0) AND ts <= to_timestamp($5 / 1000.0)) r
        ORDER BY w.id, r.ts`,
      [arrayLiteral(spans.map((s) => s.series.id)), arrayLiteral(spans.map((s) => s.from)), arrayLiteral(spans.map((s) => s.to)), ...outerBounds(spans)],
    );
    for (const row of rows) out.get(row.series_id)?.push(toPoint(row));
    return out;
  }

  async readRollup(level: RollupLevel, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, Bucket[]>> {
    const out = new Map<number, Bucket[]>(series.map((s) => [s.id, []]));
    if (series.length === 0) return out;
    // Dashboards ask for tens of thousands of buckets at once: one JSON document, parsed natively, costs
    // a fraction of the driver's row-by-row parsing.
    const [row] = await this.db.query<{ doc: string | null }>(
      `SELECT json_agg(json_build_array(series_id, ${EPOCH_MS('bucket')}, count, sum, min, max, last, consumption) ORDER BY series_id, bucket)::text AS doc
         FROM ${TABLE[level]}
        WHERE series_id = ANY($1::int[]) AND bucket >= to_timestamp($2 / 1000.0) AND bucket < to_timestamp($3 / 1000.0)`,
      [arrayLiteral(series.map((s) => s.id)), from, to],
    );
    const buckets = JSON.parse(row?.doc ?? '[]') as [number, number, number, number | null, number | null, number | null, number | null, number | null][];
    for (const [id, ts, count, sum, min, max, last, consumption] of buckets) out.get(id)?.push({ ts, count, sum, min, max, last, consumption });
    return out;
  }

  async readRollupField(level: RollupLevel, field: RollupField, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, FieldColumn>> {
    const out = new Map<number, FieldColumn>(series.map((s) => [s.id, { ts: [], values: [] }]));
    // A year of days for hundreds of meters: per series, two arrays in one JSON document (parsed natively,
    // far cheaper than the driver's row by row), read in two parts side by side so that the database
    // formats numbers on both cores. Each series is read through the primary key in time order, which
    // spares sorting the whole site's buckets to group them.
    const parts = series.length >= 100 ? 2 : 1;
    const size = Math.ceil(series.length / parts);
    await Promise.all(
      Array.from({ length: parts }, async (_, i) => {
        const ids = series.slice(i * size, (i + 1) * size).map((s) => s.id);
        if (ids.length === 0) return;
        // Bucket starts go as whole seconds (every bucket starts on a quarter hour): an integer is
        // cheaper to format and parse than a float of milliseconds, and a year of 500 meters has 180,000.
        const [row] = await this.db.query<{ doc: string | null }>(
          `SELECT json_agg(json_build_array(w.id, r.ts, r.v))::text AS doc
             FROM unnest($1::int[]) AS w (id)
             CROSS JOIN LATERAL (
               SELECT array_agg(extract(epoch from bucket)::bigint) AS ts, array_agg(${field}) AS v FROM (
                 SELECT bucket, ${field} FROM ${TABLE[level]}
                  WHERE series_id = w.id AND bucket >= to_timestamp($2 / 1000.0) AND bucket < to_timestamp($3 / 1000.0)
                  ORDER BY bucket) in_order) r
            WHERE r.ts IS NOT NULL`,
          [arrayLiteral(ids), from, to],
        );
        for (const [id, seconds, values] of JSON.parse(row?.doc ?? '[]') as [number, number[], (number | null)[]][]) {
          for (let k = 0; k < seconds.length; k++) seconds[k] = seconds[k]! * 1000;
          out.set(id, { ts: seconds, values });
        }
      }),
    );
    return out;
  }

  async readBucketSpans(level: RollupLevel, spans: readonly SeriesSpan[]): Promise<Map<number, Bucket[]>> {
    const out = new Map<number, Bucket[]>(spans.map((s) => [s.series.id, []]));
    if (spans.length === 0) return out;
    const rows = await this.db.query<Bucket & { series_id: number }>(
      `SELECT w.id AS series_id, ${EPOCH_MS('r.bucket')} AS ts, r.count, r.sum, r.min, r.max, r.last, r.consumption
         FROM unnest($1::int[], $2::float8[], $3::float8[]) AS w (id, f, t)
         CROSS JOIN LATERAL (
           SELECT * FROM ${TABLE[level]}
            WHERE series_id = w.id AND bucket >= to_timestamp(w.f / 1000.0) AND bucket < to_timestamp(w.t / 1000.0)
              AND bucket >= to_timestamp($4 / 1000.0) AND bucket <= to_timestamp($5 / 1000.0)) r
        ORDER BY w.id, r.bucket`,
      [arrayLiteral(spans.map((s) => s.series.id)), arrayLiteral(spans.map((s) => s.from)), arrayLiteral(spans.map((s) => s.to)), ...outerBounds(spans)],
    );
    for (const { series_id, ...bucket } of rows) out.get(series_id)?.push(bucket);
    return out;
  }

  async replaceBuckets(level: RollupLevel, spans: readonly (SeriesSpan & { buckets: readonly Bucket[] })[]): Promise<void> {
    if (spans.length === 0) return;
    const rows = spans.flatMap((s) => s.buckets.map((b) => ({ id: s.series.id, b })));
    // A delete and a plain insert in one transaction cost far less than an upsert per bucket, and
    // readers never see an interval empty.
    await this.db.transaction(async (tx) => {
      await tx.execute(
        `DELETE FROM ${TABLE[level]} r USING unnest($1::int[], $2::float8[], $3::float8[]) AS w (id, f, t)
          WHERE r.series_id = w.id AND r.bucket >= to_timestamp(w.f / 1000.0) AND r.bucket < to_timestamp(w.t / 1000.0)
            AND r.bucket >= to_timestamp($4 / 1000.0) AND r.bucket <= to_timestamp($5 / 1000.0)`,
        [arrayLiteral(spans.map((s) => s.series.id)), arrayLiteral(spans.map((s) => s.from)), arrayLiteral(spans.map((s) => s.to)), ...outerBounds(spans)],
      );
      for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
        const chunk = rows.slice(i, i + WRITE_CHUNK);
        await tx.execute(
          `INSERT INTO ${TABLE[level]} (series_id, bucket, count, sum, min, max, last, consumption)
             SELECT i, to_timestamp(b / 1000.0), c, s, mn, mx, l, u
               FROM unnest($1::int[], $2::float8[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[]) AS x (i, b, c, s, mn, mx, l, u)`,
          [
            arrayLiteral(chunk.map((r) => r.id)),
            arrayLiteral(chunk.map((r) => r.b.ts)),
            arrayLiteral(chunk.map((r) => r.b.count)),
            arrayLiteral(chunk.map((r) => r.b.sum)),
            arrayLiteral(chunk.map((r) => r.b.min)),
            arrayLiteral(chunk.map((r) => r.b.max)),
            arrayLiteral(chunk.map((r) => r.b.last)),
            arrayLiteral(chunk.map((r) => r.b.consumption)),
          ],
        );
      }
    });
  }

  async latest(site: string, device: string): Promise<LatestReading[]> {
    return this.db.query<LatestReading>(
      `SELECT s.device, s.metric, s.unit, ${EPOCH_MS('r.ts')} AS ts, r.value, r.quality
         FROM series s
         CROSS JOIN LATERAL (SELECT ts, value, quality FROM readings WHERE series_id = s.id ORDER BY ts DESC LIMIT 1) r
        WHERE s.site = $1 AND s.device = $2
        ORDER BY s.metric`,
      [site, device],
    );
  }

  rollupChangesSince(after: number): Promise<{ last: number; fromBySeries: Map<number, number> }> {
    return this.rollups.changesSince(after);
  }

  refreshRollups(): Promise<RollupRefreshStats> {
    return this.rollups.refresh();
  }

  async retainByPolicy(days: Partial<Record<RetentionTarget, number>>): Promise<{ targets: RetentionTarget[]; notes: string[] }> {
    if (this.layout.kind !== 'hypertable') return { targets: [], notes: [] };
    const notes = await applyRetentionPolicies(this.db, days);
    return { targets: ['raw', '15m', '1h', '1d', '1mo'], notes };
  }

  async deleteBefore(target: RetentionTarget, before: number): Promise<number> {
    if (target === 'raw' && this.layout.kind === 'hypertable') {
      // Whole chunks go by drop_chunks (compressed or not); the rest of the boundary chunk row by row.
      const [all] = await this.db.query<{ n: number }>('SELECT count(*)::float8 AS n FROM readings WHERE ts < to_timestamp($1 / 1000.0)', [before]);
      await this.db.query("SELECT drop_chunks('readings', older_than => to_timestamp($1 / 1000.0))", [before]);
      await this.db.execute('DELETE FROM readings WHERE ts < to_timestamp($1 / 1000.0)', [before]);
      return all?.n ?? 0;
    }
    if (target === 'raw') {
      const dropped = await this.partitions.dropBefore(before);
      const rows = await this.db.query<{ n: number }>(
        'WITH d AS (DELETE FROM readings WHERE ts < to_timestamp($1 / 1000.0) RETURNING 1) SELECT count(*)::float8 AS n FROM d',
        [before],
      );
      return dropped + (rows[0]?.n ?? 0);
    }
    const rows = await this.db.query<{ n: number }>(
      `WITH d AS (DELETE FROM ${TABLE[target]} WHERE bucket < to_timestamp($1 / 1000.0) RETURNING 1) SELECT count(*)::float8 AS n FROM d`,
      [before],
    );
    return rows[0]?.n ?? 0;
  }

  async close(): Promise<void> {
    // The SqlClient is owned by whoever created it.
  }
}

/**
 * The earliest start and latest end of many spans, repeated as constants beside the per-span bounds:
 * the planner cannot see a range inside unnest() and, expecting every series' whole history, picks a
 * sequential scan of every partition; with the outer range it prunes partitions and uses the index.
 */
function outerBounds(spans: readonly SeriesSpan[]): [number, number] {
  let from = Infinity;
  let to = -Infinity;
  for (const s of spans) {
    if (s.from < from) from = s.from;
    if (s.to > to) to = s.to;
  }
  return [from, to];
}
