import type { SqlClient, SqlExecutor } from '../sql-client.js';
import type { Bucket, RawPoint, RollupRefreshStats, SeriesRef } from '../time-series-store.js';
import { BucketCalculator, combineBuckets, type CounterAnchor } from './bucket-calculator.js';
import { calendarOf, floorQuarterHour, QUARTER_HOUR_MS, type RollupLevel, type SiteCalendar } from './site-calendar.js';

/** What the rollup maintainer needs from a backend's raw readings and rollup storage. */
export interface RollupBackend {
  seriesById(ids: readonly number[]): Promise<SeriesRef[]>;
  /** raw readings with from <= ts <= to and ts > after, in time order, at most `limit` */
  readRawPage(series: SeriesRef, from: number, to: number, after: number | undefined, limit: number): Promise<RawPoint[]>;
  /** the last good, reset or rollover reading with a value before `ts` */
  lastAnchorBefore(series: SeriesRef, ts: number): Promise<CounterAnchor | undefined>;
  /** time of the first good, reset or rollover reading after `ts` */
  firstAnchorAfter(series: SeriesRef, ts: number): Promise<number | undefined>;
  readBuckets(level: RollupLevel, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, Bucket[]>>;
  /** replaces the buckets of `series` starting in [from, to) with these */
  writeBuckets(level: RollupLevel, series: SeriesRef, from: number, to: number, buckets: readonly Bucket[]): Promise<void>;
  timeZoneOf(site: string): Promise<string>;
}

const PAGE = 50_000;
/** Ranges of one series closer than this are refreshed in one pass. */
const MERGE_GAP_MS = 6 * 3_600_000;
// Arbitrary constant: one refresher at a time across cloud instances, so an older computation never
// overwrites a newer one.
const REFRESH_LOCK_ID = 7_362_002;

/**
 * Intervals written since the last refresh, kept in the relational database so that a crash between a
 * write and its refresh loses nothing. A SQL backend adds them in the same statement as the readings.
 */
export class PendingRanges {
  constructor(private readonly db: SqlClient) {}

  /** Records that readings of `seriesIds` with timestamps in [from, to] were written. */
  async add(seriesIds: readonly number[], from: number, to: number, executor: SqlExecutor = this.db): Promise<void> {
    if (seriesIds.length === 0) return;
    await executor.execute(`INSERT INTO rollup_pending (series_ids, from_ts, to_ts) VALUES ($1::int[], to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0))`, [
      seriesIds,
      from,
      to,
    ]);
  }

  async take(limit: number): Promise<{ ids: number[]; ranges: Map<number, [number, number][]> }> {
    const rows = await this.db.query<{ id: number; series_ids: number[]; from_ts: number; to_ts: number }>(
      `SELECT id, series_ids, (extract(epoch from from_ts) * 1000)::float8 AS from_ts, (extract(epoch from to_ts) * 1000)::float8 AS to_ts
         FROM rollup_pending ORDER BY id LIMIT $1`,
      [limit],
    );
    const ranges = new Map<number, [number, number][]>();
    for (const r of rows) {
      for (const id of r.series_ids) {
        const list = ranges.get(id) ?? [];
        list.push([Math.round(r.from_ts), Math.round(r.to_ts)]);
        ranges.set(id, list);
      }
    }
    return { ids: rows.map((r) => r.id), ranges };
  }

  async done(ids: readonly number[]): Promise<void> {
    if (ids.length > 0) await this.db.execute('DELETE FROM rollup_pending WHERE id = ANY($1::bigint[])', [ids]);
  }

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM rollup_pending');
    return rows[0]?.n ?? 0;
  }
}

function mergeRanges(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last && from <= last[1] + MERGE_GAP_MS) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

const COARSER: readonly [RollupLevel, RollupLevel][] = [
  ['15m', '1h'],
  ['1h', '1d'],
  ['1d', '1mo'],
];

/**
 * Keeps every backend's rollups in step with its raw readings, by one algorithm: for each interval
 * written, recompute the 15-minute buckets it touches from the raw readings (plus, for counters, the
 * bucket of the next trusted reading, whose step changed), then each coarser level's buckets from the
 * level below. The arithmetic is in BucketCalculator; this is the bookkeeping around it.
 */
export class RollupMaintainer {
  private running: Promise<RollupRefreshStats> | undefined;

  constructor(
    private readonly db: SqlClient,
    private readonly pending: PendingRanges,
    private readonly backend: RollupBackend,
    private readonly concurrency = 3,
  ) {}

  /** Processes everything pending; calls made while one runs wait for it and then run again. */
  refresh(): Promise<RollupRefreshStats> {
    const previous = this.running ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(() => this.db.withSessionLock(REFRESH_LOCK_ID, () => this.refreshAll()));
    this.running = next;
    void next.finally(() => {
      if (this.running === next) this.running = undefined;
    }).catch(() => undefined);
    return next;
  }

  private async refreshAll(): Promise<RollupRefreshStats> {
    const stats: RollupRefreshStats = { series: 0, buckets: 0, readingsRead: 0 };
    for (;;) {
      const { ids, ranges } = await this.pending.take(1_000);
      if (ids.length === 0) return stats;
      const series = await this.backend.seriesById([...ranges.keys()]);
      // A few series at a time: each refresh is a chain of round trips, and the database has cores to spare.
      let next = 0;
      const worker = async () => {
        for (let s = series[next++]; s; s = series[next++]) {
          stats.series++;
          for (const [from, to] of mergeRanges(ranges.get(s.id) ?? [])) {
            const done = await this.refreshRange(s, from, to);
            stats.buckets += done.buckets;
            stats.readingsRead += done.readingsRead;
          }
        }
      };
      await Promise.all(Array.from({ length: this.concurrency }, worker));
      await this.pending.done(ids);
    }
  }

  /** Recomputes every rollup of `series` affected by readings written with timestamps in [from, to]. */
  async refreshRange(series: SeriesRef, from: number, to: number): Promise<{ buckets: number; readingsRead: number }> {
    const calendar = calendarOf(await this.backend.timeZoneOf(series.site));
    // A reading on a bucket boundary closes the bucket before it (intervals are (start, end]).
    const start = floorQuarterHour(from - 1);
    let last = to;
    if (series.kind === 'counter') last = (await this.backend.firstAnchorAfter(series, to)) ?? to;
    const end = floorQuarterHour(last) + QUARTER_HOUR_MS;

    const anchor = series.kind === 'counter' ? await this.backend.lastAnchorBefore(series, start) : undefined;
    const calculator = new BucketCalculator(series.kind, start, end, floorQuarterHour, anchor);
    let after: number | undefined;
    let readingsRead = 0;
    for (;;) {
      const page = await this.backend.readRawPage(series, start, end, after, PAGE);
      for (const point of page) calculator.add(point);
      readingsRead += page.length;
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.ts;
    }
    let buckets = calculator.finish();
    await this.backend.writeBuckets('15m', series, start, end, buckets);
    const quarterHours = buckets.length;

    let range: [number, number] = [start, end];
    for (const [finer, coarser] of COARSER) {
      const [computed, coarse] = await this.rollUp(series, calendar, finer, coarser, buckets, range);
      await this.backend.writeBuckets(coarser, series, coarse[0], coarse[1], computed);
      buckets = computed;
      range = coarse;
    }
    return { buckets: quarterHours, readingsRead };
  }

  /**
   * Coarser buckets over the whole intervals that [from, to) touches: the finer buckets just computed
   * for [from, to), plus those already stored for the rest of those intervals.
   */
  private async rollUp(
    series: SeriesRef,
    calendar: SiteCalendar,
    finer: RollupLevel,
    coarser: RollupLevel,
    computed: readonly Bucket[],
    [from, to]: [number, number],
  ): Promise<[Bucket[], [number, number]]> {
    const coarseFrom = calendar.start(coarser, from);
    const coarseTo = calendar.ceil(coarser, to);
    const before = coarseFrom < from ? ((await this.backend.readBuckets(finer, [series], coarseFrom, from)).get(series.id) ?? []) : [];
    const after = to < coarseTo ? ((await this.backend.readBuckets(finer, [series], to, coarseTo)).get(series.id) ?? []) : [];
    const all = [...before, ...computed, ...after];
    return [combineBuckets(all, (ts) => calendar.start(coarser, ts)), [coarseFrom, coarseTo]];
  }
}
