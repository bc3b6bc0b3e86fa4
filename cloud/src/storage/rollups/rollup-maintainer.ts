import type { SqlClient, SqlExecutor } from '../sql-client.js';
import type { Bucket, RawPoint, RollupRefreshStats, SeriesRef } from '../time-series-store.js';
import { BucketCalculator, combineBuckets, type CounterAnchor } from './bucket-calculator.js';
import { calendarOf, floorQuarterHour, QUARTER_HOUR_MS, type RollupLevel, type SiteCalendar } from './site-calendar.js';

/** How long the log of recomputed buckets (rollup_changes) is kept. */
export const ROLLUP_CHANGES_KEPT_MS = 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;

/** An interval of one series: [from, to] for raw readings, [from, to) for buckets. */
export interface SeriesSpan {
  series: SeriesRef;
  from: number;
  to: number;
}

/**
 * What the rollup maintainer needs from a backend's raw readings and rollup storage. Every call takes
 * many series at once: a live site has thousands of series with a few new readings each, and one
 * round trip per series per refresh would swamp the database.
 */
export interface RollupBackend {
  seriesById(ids: readonly number[]): Promise<SeriesRef[]>;
  timeZoneOf(site: string): Promise<string>;
  /** raw readings of one series with from <= ts <= to and ts > after, in time order, at most `limit` */
  readRawPage(series: SeriesRef, from: number, to: number, after: number | undefined, limit: number): Promise<RawPoint[]>;
  /** raw readings with from <= ts <= to of each span, in time order (spans are small: no paging) */
  readRawSpans(spans: readonly SeriesSpan[]): Promise<Map<number, RawPoint[]>>;
  /** per series, the last good, reset or rollover reading with a value before `ts` */
  lastAnchorsBefore(at: readonly { series: SeriesRef; ts: number }[]): Promise<Map<number, CounterAnchor>>;
  /** per series, the time of the first good, reset or rollover reading after `ts` */
  firstAnchorsAfter(at: readonly { series: SeriesRef; ts: number }[]): Promise<Map<number, number>>;
  /** the buckets of `level` starting in [from, to) of each span */
  readBucketSpans(level: RollupLevel, spans: readonly SeriesSpan[]): Promise<Map<number, Bucket[]>>;
  /** for each span, replaces the buckets of `level` starting in [from, to) with the given ones */
  replaceBuckets(level: RollupLevel, spans: readonly (SeriesSpan & { buckets: readonly Bucket[] })[]): Promise<void>;
}

const PAGE = 50_000;
/** Ranges of one series closer than this are refreshed in one pass. */
const MERGE_GAP_MS = 6 * 3_600_000;
/** Spans up to this long are refreshed many series at a time (live traffic); longer ones one by one, paged. */
const BATCHABLE_SPAN_MS = 6 * 3_600_000;
/** Series refreshed together in one batch. */
const BATCH_SERIES = 250;
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
  private prunedAt = 0;

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
    const add = (done: { buckets: number; readingsRead: number }) => {
      stats.buckets += done.buckets;
      stats.readingsRead += done.readingsRead;
    };
    for (;;) {
      const { ids, ranges } = await this.pending.take(1_000);
      if (ids.length === 0) return stats;
      const series = await this.backend.seriesById([...ranges.keys()]);
      stats.series += series.length;
      const small: SeriesSpan[] = [];
      const large: SeriesSpan[] = [];
      for (const s of series) {
        const merged = mergeRanges(ranges.get(s.id) ?? []);
        const only = merged[0];
        if (merged.length === 1 && only && only[1] - only[0] <= BATCHABLE_SPAN_MS) small.push({ series: s, from: only[0], to: only[1] });
        else for (const [from, to] of merged) large.push({ series: s, from, to });
      }
      // Short spans in batches of series, long ones (a replayed backlog, a backfill) one series at a
      // time; a few side by side, since the database works while this process computes.
      const jobs: SeriesSpan[][] = [];
      for (let i = 0; i < small.length; i += BATCH_SERIES) jobs.push(small.slice(i, i + BATCH_SERIES));
      for (const span of large) jobs.push([span]);
      let next = 0;
      const worker = async () => {
        for (let job = jobs[next++]; job; job = jobs[next++]) add(await this.refreshSpans(job));
      };
      await Promise.all(Array.from({ length: this.concurrency }, worker));
      await this.pending.done(ids);
    }
  }

  /**
   * Recomputes every rollup affected by readings written with timestamps in [from, to] of each span
   * (one span per series): the 15-minute buckets from the raw readings, then each coarser level from
   * the one below.
   */
  async refreshSpans(spans: readonly SeriesSpan[]): Promise<{ buckets: number; readingsRead: number }> {
    const counters = spans.filter((s) => s.series.kind === 'counter');
    // A counter's next trusted reading after the span now steps from a different reading: its bucket too.
    const next = await this.backend.firstAnchorsAfter(counters.map((s) => ({ series: s.series, ts: s.to })));
    // A reading on a bucket boundary closes the bucket before it (intervals are (start, end]).
    const windows = spans.map((s) => ({
      series: s.series,
      from: floorQuarterHour(s.from - 1),
      to: floorQuarterHour(Math.max(s.to, next.get(s.series.id) ?? s.to)) + QUARTER_HOUR_MS,
    }));
    const anchors = await this.backend.lastAnchorsBefore(windows.filter((w) => w.series.kind === 'counter').map((w) => ({ series: w.series, ts: w.from })));

    let readingsRead = 0;
    const raw = windows.length === 1 ? undefined : await this.backend.readRawSpans(windows);
    const quarterHours: (SeriesSpan & { buckets: Bucket[] })[] = [];
    for (const w of windows) {
      const calculator = new BucketCalculator(w.series.kind, w.from, w.to, floorQuarterHour, anchors.get(w.series.id));
      if (raw) {
        const points = raw.get(w.series.id) ?? [];
        for (const point of points) calculator.add(point);
        readingsRead += points.length;
      } else {
        // One long span: page through it.
        let after: number | undefined;
        for (;;) {
          const page = await this.backend.readRawPage(w.series, w.from, w.to, after, PAGE);
          for (const point of page) calculator.add(point);
          readingsRead += page.length;
          if (page.length < PAGE) break;
          after = page[page.length - 1]!.ts;
        }
      }
      quarterHours.push({ ...w, buckets: calculator.finish() });
    }
    await this.backend.replaceBuckets('15m', quarterHours);

    const calendars = new Map<string, SiteCalendar>();
    for (const w of windows) if (!calendars.has(w.series.site)) calendars.set(w.series.site, calendarOf(await this.backend.timeZoneOf(w.series.site)));
    let level = quarterHours;
    for (const [finer, coarser] of COARSER) {
      level = await this.rollUp(finer, coarser, level, (s) => calendars.get(s.site)!);
      await this.backend.replaceBuckets(coarser, level);
    }
    // Logged once every level is replaced: a reader that keeps a copy and sees the change then reads
    // the new buckets of every level, never an hour or a day still waiting for its turn.
    await this.logChanges(windows);
    return { buckets: quarterHours.reduce((n, q) => n + q.buckets.length, 0), readingsRead };
  }

  /** Logs the 15-minute buckets just recomputed, for the readers that keep a copy (rollupChangesSince). */
  private async logChanges(windows: readonly SeriesSpan[]): Promise<void> {
    if (windows.length === 0) return;
    await this.db.execute('INSERT INTO rollup_changes (series_ids, from_ms) VALUES ($1::int[], $2::float8[])', [windows.map((w) => w.series.id), windows.map((w) => w.from)]);
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      await this.db.execute(`DELETE FROM rollup_changes WHERE changed_at < now() - make_interval(secs => $1)`, [ROLLUP_CHANGES_KEPT_MS / 1000]);
    }
  }

  /**
   * The changes logged since the read that returned `after` (0: all that are kept), per series the
   * earliest bucket changed, and the cursor for the next read. Ids are not committed in order (a
   * refresh logs from several workers), so the cursor is the oldest transaction still running when
   * this read began: the next read takes every change from it on, and a change read twice costs a
   * re-read, never a miss.
   */
  async changesSince(after: number): Promise<{ last: number; fromBySeries: Map<number, number> }> {
    const [snapshot] = await this.db.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    const rows = await this.db.query<{ series_ids: number[]; from_ms: number[] }>('SELECT series_ids, from_ms FROM rollup_changes WHERE tx >= $1::text::xid8', [String(after)]);
    const fromBySeries = new Map<number, number>();
    for (const row of rows) row.series_ids.forEach((id, i) => fromBySeries.set(id, Math.min(fromBySeries.get(id) ?? Infinity, row.from_ms[i]!)));
    return { last: Number(snapshot!.xmin), fromBySeries };
  }

  /**
   * Coarser buckets over the whole intervals each span touches: the finer buckets just computed for the
   * span, plus those already stored for the rest of those intervals.
   */
  private async rollUp(
    finer: RollupLevel,
    coarser: RollupLevel,
    computed: readonly (SeriesSpan & { buckets: readonly Bucket[] })[],
    calendarFor: (series: SeriesRef) => SiteCalendar,
  ): Promise<(SeriesSpan & { buckets: Bucket[] })[]> {
    const widened = computed.map((c) => {
      const calendar = calendarFor(c.series);
      return { ...c, calendar, coarseFrom: calendar.start(coarser, c.from), coarseTo: calendar.ceil(coarser, c.to) };
    });
    const before = await this.backend.readBucketSpans(
      finer,
      widened.filter((w) => w.coarseFrom < w.from).map((w) => ({ series: w.series, from: w.coarseFrom, to: w.from })),
    );
    const after = await this.backend.readBucketSpans(
      finer,
      widened.filter((w) => w.to < w.coarseTo).map((w) => ({ series: w.series, from: w.to, to: w.coarseTo })),
    );
    return widened.map((w) => {
      const all = [...(w.coarseFrom < w.from ? (before.get(w.series.id) ?? []) : []), ...w.buckets, ...(w.to < w.coarseTo ? (after.get(w.series.id) ?? []) : [])];
      return { series: w.series, from: w.coarseFrom, to: w.coarseTo, buckets: combineBuckets(all, (ts) => w.calendar.start(coarser, ts)) };
    });
  }
}
