import type { GatewayAddress, Quality, Reading } from '@gatehouse/contracts';
import { escape, InfluxDB, type IPoint } from 'influx';
import type { CounterAnchor } from '../rollups/bucket-calculator.js';
import { PendingRanges, RollupMaintainer, type RollupBackend, type SeriesSpan } from '../rollups/rollup-maintainer.js';
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

export interface InfluxStoreOptions {
  /** e.g. http://127.0.0.1:8086 */
  url: string;
  database: string;
  username?: string;
  password?: string;
}

const RAW = 'readings';
const MEASUREMENT: Record<RollupLevel, string> = { '15m': 'rollup_15m', '1h': 'rollup_1h', '1d': 'rollup_1d', '1mo': 'rollup_1mo' };
const ANCHOR_FILTER = `(quality = 'good' OR quality = 'counter_reset' OR quality = 'counter_rollover')`;
/** Points per HTTP write: InfluxDB's own advice is 5,000 to 10,000. */
const WRITE_CHUNK = 10_000;

interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

const lit = (value: string) => escape.stringLit(value);
const seriesFilter = (s: SeriesRef) => `site = ${lit(s.site)} AND device = ${lit(s.device)} AND metric = ${lit(s.metric)}`;

/** Rows of a raw query answer as objects keyed by column, with `time` in epoch ms. */
function rowsOf(answer: { results?: { series?: RawSeries[]; error?: string }[] }): { tags: Record<string, string>; rows: Record<string, unknown>[] }[] {
  const result = answer.results?.[0];
  if (result?.error) throw new Error(`InfluxDB refused the query: ${result.error}`);
  return (result?.series ?? []).map((s) => ({
    tags: s.tags ?? {},
    rows: s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))),
  }));
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * Readings in InfluxDB 1.x: measurement `readings` tagged site/device/metric with fields value, quality
 * and, for compacted gauge readings, agg_count/agg_min/agg_max; rollups in `rollup_15m` … `rollup_1mo`
 * with the same tags, readable from Grafana's InfluxDB data source as they are.
 *
 * A point is identified by its tags and time, so writing a reading again overwrites it with the same
 * fields: nothing changes, but InfluxDB cannot say whether it was new (duplicates: null). The series
 * catalogue and the pending rollup intervals live in the relational database, recorded before the
 * points are written so that a crash in between costs a needless refresh, never a stale rollup.
 */
export class InfluxTimeSeriesStore extends CataloguedStore implements TimeSeriesStore, RollupBackend {
  readonly backend = 'influxdb';
  private readonly influx: InfluxDB;
  private readonly pending: PendingRanges;
  private readonly rollups: RollupMaintainer;

  private constructor(options: InfluxStoreOptions, db: SqlClient, catalogue: SeriesCatalogue) {
    super(catalogue);
    const url = new URL(options.url);
    this.influx = new InfluxDB({
      host: url.hostname,
      port: Number(url.port || 8086),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      database: options.database,
      ...(options.username ? { username: options.username, password: options.password ?? '' } : {}),
    });
    this.pending = new PendingRanges(db);
    this.rollups = new RollupMaintainer(db, this.pending, this);
  }

  /** Connects and creates the database if it does not exist. */
  static async open(options: InfluxStoreOptions, db: SqlClient, catalogue: SeriesCatalogue): Promise<InfluxTimeSeriesStore> {
    const store = new InfluxTimeSeriesStore(options, db, catalogue);
    try {
      const names = await store.influx.getDatabaseNames();
      if (!names.includes(options.database)) await store.influx.createDatabase(options.database);
    } catch (err) {
      throw new Error(`cannot reach InfluxDB at ${options.url}: ${(err as Error).message}`);
    }
    return store;
  }

  async write(origin: GatewayAddress, readings: readonly Reading[]): Promise<WriteResult> {
    if (readings.length === 0) return { inserted: 0, duplicates: 0 };
    const series = await this.catalogue.resolve(origin.site, readings);
    let from = Infinity;
    let to = -Infinity;
    const points: IPoint[] = readings.map((r) => {
      if (r.ts < from) from = r.ts;
      if (r.ts > to) to = r.ts;
      const fields: Record<string, number | string> = { quality: r.quality };
      if (r.value !== null) fields.value = r.value;
      if (r.aggregate) Object.assign(fields, { agg_count: r.aggregate.count, agg_min: r.aggregate.min, agg_max: r.aggregate.max });
      return { measurement: RAW, tags: { site: origin.site, device: r.device, metric: r.metric }, fields, timestamp: r.ts };
    });
    await this.pending.add([...new Set(series.map((s) => s.id))], from, to);
    for (let i = 0; i < points.length; i += WRITE_CHUNK) {
      await this.influx.writePoints(points.slice(i, i + WRITE_CHUNK), { precision: 'ms' });
    }
    return { inserted: readings.length, duplicates: null };
  }

  private async query(q: string) {
    return rowsOf(await this.influx.queryRaw(q, { precision: 'ms' }));
  }

  private async rawPoints(q: string): Promise<RawPoint[]> {
    const [series] = await this.query(q);
    return (series?.rows ?? []).map((row) => {
      const point: RawPoint = { ts: row.time as number, value: num(row.value), quality: row.quality as Quality };
      const count = num(row.agg_count);
      const min = num(row.agg_min);
      const max = num(row.agg_max);
      if (count !== null && min !== null && max !== null) point.aggregate = { count, min, max };
      return point;
    });
  }

  readRaw(series: SeriesRef, from: number, to: number, limit: number): Promise<RawPoint[]> {
    return this.rawPoints(
      `SELECT value, quality, agg_count, agg_min, agg_max FROM ${RAW} WHERE ${seriesFilter(series)} AND time >= ${from}ms AND time < ${to}ms ORDER BY time LIMIT ${limit}`,
    );
  }

  readRawPage(series: SeriesRef, from: number, to: number, after: number | undefined, limit: number): Promise<RawPoint[]> {
    const start = after === undefined ? `time >= ${from}ms` : `time > ${Math.max(after, from - 1)}ms`;
    return this.rawPoints(
      `SELECT value, quality, agg_count, agg_min, agg_max FROM ${RAW} WHERE ${seriesFilter(series)} AND ${start} AND time <= ${to}ms ORDER BY time LIMIT ${limit}`,
    );
  }

  async lastAnchorBefore(series: SeriesRef, ts: number): Promise<CounterAnchor | undefined> {
    const [found] = await this.query(
      `SELECT value FROM ${RAW} WHERE ${seriesFilter(series)} AND ${ANCHOR_FILTER} AND time < ${ts}ms ORDER BY time DESC LIMIT 1`,
    );
    const row = found?.rows[0];
    const value = num(row?.value);
    return row && value !== null ? { ts: row.time as number, value } : undefined;
  }

  private async firstAnchorAfter(series: SeriesRef, ts: number): Promise<number | undefined> {
    const [found] = await this.query(`SELECT value FROM ${RAW} WHERE ${seriesFilter(series)} AND ${ANCHOR_FILTER} AND time > ${ts}ms ORDER BY time LIMIT 1`);
    const row = found?.rows[0];
    return row ? (row.time as number) : undefined;
  }

  // The rollup maintainer's many-series calls, one query per series: InfluxQL has no per-series time
  // ranges in one statement.

  async lastAnchorsBefore(at: readonly { series: SeriesRef; ts: number }[]): Promise<Map<number, CounterAnchor>> {
    const out = new Map<number, CounterAnchor>();
    for (const { series, ts } of at) {
      const anchor = await this.lastAnchorBefore(series, ts);
      if (anchor) out.set(series.id, anchor);
    }
    return out;
  }

  async firstAnchorsAfter(at: readonly { series: SeriesRef; ts: number }[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const { series, ts } of at) {
      const found = await this.firstAnchorAfter(series, ts);
      if (found !== undefined) out.set(series.id, found);
    }
    return out;
  }

  async readRawSpans(spans: readonly SeriesSpan[]): Promise<Map<number, RawPoint[]>> {
    const out = new Map<number, RawPoint[]>();
    for (const s of spans) out.set(s.series.id, await this.rawPoints(`SELECT value, quality, agg_count, agg_min, agg_max FROM ${RAW} WHERE ${seriesFilter(s.series)} AND time >= ${s.from}ms AND time <= ${s.to}ms ORDER BY time`));
    return out;
  }

  async readBucketSpans(level: RollupLevel, spans: readonly SeriesSpan[]): Promise<Map<number, Bucket[]>> {
    const out = new Map<number, Bucket[]>();
    for (const s of spans) out.set(s.series.id, (await this.readRollup(level, [s.series], s.from, s.to)).get(s.series.id) ?? []);
    return out;
  }

  /**
   * Writes over the buckets of each span: a bucket is identified by its tags and time, so each new one
   * replaces the old. None ever needs deleting: readings are only added, so a bucket never empties.
   */
  async replaceBuckets(level: RollupLevel, spans: readonly (SeriesSpan & { buckets: readonly Bucket[] })[]): Promise<void> {
    const points: IPoint[] = spans.flatMap(({ series, buckets }) => {
      const tags = { site: series.site, device: series.device, metric: series.metric };
      return buckets.map((b) => {
        const fields: Record<string, number> = { count: b.count };
        for (const key of ['sum', 'min', 'max', 'last', 'consumption'] as const) {
          const value = b[key];
          if (value !== null) fields[key] = value;
        }
        return { measurement: MEASUREMENT[level], tags, fields, timestamp: b.ts };
      });
    });
    for (let i = 0; i < points.length; i += WRITE_CHUNK) {
      await this.influx.writePoints(points.slice(i, i + WRITE_CHUNK), { precision: 'ms' });
    }
  }

  async readRollupField(level: RollupLevel, field: RollupField, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, FieldColumn>> {
    // The one field only (InfluxDB's time goes into encoding every value it answers), with `count`,
    // which every bucket has: a bucket without the field (a gauge's consumption) still answers, as null.
    const rows = await this.rollupRows(level, field === 'count' ? 'count' : `count, ${field} AS v`, series, from, to);
    const out = new Map<number, FieldColumn>(series.map((s) => [s.id, { ts: [], values: [] }]));
    for (const [id, list] of rows) out.set(id, { ts: list.map((r) => r.time as number), values: list.map((r) => (field === 'count' ? (num(r.count) ?? 0) : num(r.v))) });
    return out;
  }

  async readRollup(level: RollupLevel, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, Bucket[]>> {
    const rows = await this.rollupRows(level, 'count, sum, min, max, last, consumption', series, from, to);
    const out = new Map<number, Bucket[]>(series.map((s) => [s.id, []]));
    for (const [id, list] of rows) {
      out.set(
        id,
        list.map((r) => ({
          ts: r.time as number,
          count: num(r.count) ?? 0,
          sum: num(r.sum),
          min: num(r.min),
          max: num(r.max),
          last: num(r.last),
          consumption: num(r.consumption),
        })),
      );
    }
    return out;
  }

  /** Rows of a rollup measurement per series id: one query per site and metric, grouped by device. */
  private async rollupRows(level: RollupLevel, fields: string, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, Record<string, unknown>[]>> {
    const out = new Map<number, Record<string, unknown>[]>();
    const bySite = new Map<string, SeriesRef[]>();
    for (const s of series) {
      const key = `${s.site}\u0000${s.metric}`;
      const group = bySite.get(key);
      if (group) group.push(s);
      else bySite.set(key, [s]);
    }
    for (const group of bySite.values()) {
      const first = group[0]!;
      const ids = new Map(group.map((s) => [s.device, s.id]));
      // One series: filter on the device; many: the whole site, grouped by device.
      const where = group.length === 1 ? seriesFilter(first) : `site = ${lit(first.site)} AND metric = ${lit(first.metric)}`;
      const answer = await this.query(`SELECT ${fields} FROM ${MEASUREMENT[level]} WHERE ${where} AND time >= ${from}ms AND time < ${to}ms GROUP BY device ORDER BY time`);
      for (const { tags, rows } of answer) {
        const id = ids.get(tags.device ?? first.device);
        if (id !== undefined) out.set(id, rows);
      }
    }
    return out;
  }

  async latest(site: string, device: string): Promise<LatestReading[]> {
    const units = new Map((await this.catalogue.ofDevice(site, device)).map((s) => [s.metric, s.unit]));
    const answer = await this.query(
      `SELECT value, quality FROM ${RAW} WHERE site = ${lit(site)} AND device = ${lit(device)} GROUP BY metric ORDER BY time DESC LIMIT 1`,
    );
    return answer
      .flatMap(({ tags, rows }) => {
        const row = rows[0];
        const metric = tags.metric;
        if (!row || !metric) return [];
        return [{ device, metric, unit: units.get(metric) ?? '', ts: row.time as number, value: num(row.value), quality: row.quality as Quality }];
      })
      .sort((a, b) => a.metric.localeCompare(b.metric));
  }

  rollupChangesSince(after: number): Promise<{ last: number; fromBySeries: Map<number, number> }> {
    return this.rollups.changesSince(after);
  }

  refreshRollups(): Promise<RollupRefreshStats> {
    return this.rollups.refresh();
  }

  async deleteBefore(target: RetentionTarget, before: number): Promise<number> {
    const measurement = target === 'raw' ? RAW : MEASUREMENT[target];
    const field = target === 'raw' ? 'quality' : 'count';
    const [counted] = await this.query(`SELECT count(${field}) FROM ${measurement} WHERE time < ${before}ms`);
    await this.influx.query(`DELETE FROM ${measurement} WHERE time < ${before}ms`);
    return num(counted?.rows[0]?.count) ?? 0;
  }

  async close(): Promise<void> {
    // HTTP only: nothing held open.
  }
}
