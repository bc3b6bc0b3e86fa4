import type { GatewayAddress, Quality, Reading } from '@gatehouse/contracts';
import type { RollupLevel } from './rollups/site-calendar.js';

export type { RollupLevel } from './rollups/site-calendar.js';

export interface WriteResult {
  /** readings newly stored */
  inserted: number;
  /**
   * readings that were already stored (replay or redelivery) and changed nothing; `null` where the
   * backend cannot tell without reading first (InfluxDB overwrites an identical point silently)
   */
  duplicates: number | null;
}

export type SeriesKind = 'gauge' | 'counter';

/** One series: a metric of a device of a site. */
export interface SeriesRef {
  id: number;
  site: string;
  device: string;
  metric: string;
  unit: string;
  kind: SeriesKind;
}

export interface RawPoint {
  ts: number;
  value: number | null;
  quality: Quality;
  /** set on a reading the gateway compacted from several gauge readings (`value` is their mean) */
  aggregate?: { count: number; min: number; max: number };
}

/**
 * One interval of a series. Mean, min and max are over good values (a compacted gauge reading counts
 * as its `count` readings); `consumption` is the sum of a counter's trusted steps that ended in the
 * interval (start exclusive, end inclusive, as meters label intervals), null for gauges.
 */
export interface Bucket {
  ts: number;
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  /** the last good value in the interval */
  last: number | null;
  consumption: number | null;
}

/** The fields of a bucket one can read on its own. */
export const ROLLUP_FIELDS = ['consumption', 'count', 'sum', 'min', 'max', 'last'] as const;
export type RollupField = (typeof ROLLUP_FIELDS)[number];

/** One field of a series' rollup buckets: bucket starts and the field's values, index for index. */
export interface FieldColumn {
  ts: number[];
  values: (number | null)[];
}

export interface DeviceBucket extends Bucket {
  device: string;
}

export interface LatestReading {
  device: string;
  metric: string;
  unit: string;
  ts: number;
  value: number | null;
  quality: Quality;
}

export type RetentionTarget = 'raw' | RollupLevel;

export interface RollupRefreshStats {
  /** series whose rollups were recomputed */
  series: number;
  /** 15-minute buckets recomputed */
  buckets: number;
  /** raw readings read to do it */
  readingsRead: number;
}

/**
 * Where readings are kept: PostgreSQL (partitioned, or TimescaleDB), InfluxDB 1.x or embedded PGlite.
 * Every backend passes the same conformance suite (cloud/test/storage/time-series-store.conformance.ts).
 *
 * Writing a reading that is already stored changes nothing. Writes record which intervals changed;
 * `refreshRollups` brings the 15-minute, hourly, daily and monthly rollups up to date with them (the
 * cloud calls it every few seconds), so a late or replayed reading updates the intervals it falls in.
 */
export interface TimeSeriesStore {
  /** 'postgres', 'timescaledb', 'influxdb' or 'pglite' */
  readonly backend: string;
  write(origin: GatewayAddress, readings: readonly Reading[]): Promise<WriteResult>;
  /** the series of a metric of a device, if anything was ever stored for it */
  series(site: string, device: string, metric: string): Promise<SeriesRef | undefined>;
  /** the series of one metric for every device of a site */
  seriesOfSite(site: string, metric: string): Promise<SeriesRef[]>;
  /** raw readings in [from, to), in time order, at most `limit` */
  readRaw(series: SeriesRef, from: number, to: number, limit: number): Promise<RawPoint[]>;
  /** rollup buckets starting in [from, to), in time order, per series */
  readRollup(level: RollupLevel, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, Bucket[]>>;
  /**
   * One field of a rollup level for many series, as a column of bucket starts and one of values per
   * series (in time order): the lean read behind a meter × day table of a whole site.
   */
  readRollupField(level: RollupLevel, field: RollupField, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, FieldColumn>>;
  latest(site: string, device: string): Promise<LatestReading[]>;
  /** a counter's last good, reset or rollover reading before `ts` (where its next step starts from) */
  lastAnchorBefore(series: SeriesRef, ts: number): Promise<{ ts: number; value: number } | undefined>;
  /** the IANA time zone the site's days and months are counted in */
  timeZoneOf(site: string): Promise<string>;
  /** recomputes the rollups of every interval written since the last refresh */
  refreshRollups(): Promise<RollupRefreshStats>;
  /**
   * The 15-minute buckets that refreshes (of any instance) recomputed since the read that returned
   * `after` as `last` (0 for all that are kept): per series the earliest bucket changed, and the cursor
   * for the next read. Changes are kept a day (ROLLUP_CHANGES_KEPT_MS): a reader that looks less often
   * must read everything again.
   */
  rollupChangesSince(after: number): Promise<{ last: number; fromBySeries: Map<number, number> }>;
  /**
   * Backends with retention of their own (TimescaleDB's policies) take the limits over: the levels
   * returned are theirs from now on, and the service's retention job leaves them alone.
   */
  retainByPolicy?(days: Partial<Record<RetentionTarget, number>>): Promise<{ targets: RetentionTarget[]; notes: string[] }>;
  /** deletes raw readings or rollup buckets older than `before`; returns how many went (estimate for dropped partitions) */
  deleteBefore(target: RetentionTarget, before: number): Promise<number>;
  close(): Promise<void>;
}
