import type { Quality } from '@gatehouse/contracts';
import type { Bucket, RawPoint, SeriesKind } from '../time-series-store.js';

/**
 * The readings a counter's consumption is measured from: a good reading, or one the edge flagged as the
 * start of a new count (reset, meter replaced, rollover). A negative step or an impossible jump is not
 * trusted and anchors nothing, mirroring the edge's counter guard.
 */
const ANCHORS: ReadonlySet<Quality> = new Set<Quality>(['good', 'counter_reset', 'counter_rollover']);

export interface CounterAnchor {
  ts: number;
  value: number;
}

/**
 * Turns the readings of one series, in time order, into buckets over [from, to).
 *
 * - Values: good readings with ts in [from, to) count towards count/sum/min/max/last of their bucket.
 * - Consumption (counters): the step from the last anchor into a good reading, attributed to the bucket
 *   holding `ts - 1`: intervals are (start, end], so a reading taken at 00:15:00 closes 00:00–00:15, as
 *   interval meters label them. Steps into a reset or rollover reading are never consumption.
 *
 * The caller feeds readings in [from, to] (a reading at exactly `to` closes the last bucket) and, for
 * counters, the last anchor before `from`.
 */
export class BucketCalculator {
  private readonly buckets = new Map<number, Bucket>();
  private anchor: CounterAnchor | undefined;
  private lastTs = -Infinity;

  constructor(
    private readonly kind: SeriesKind,
    private readonly from: number,
    private readonly to: number,
    private readonly bucketOf: (ts: number) => number,
    anchor?: CounterAnchor,
  ) {
    this.anchor = anchor;
  }

  add(point: RawPoint): void {
    if (point.ts < this.lastTs) throw new Error(`readings out of order: ${point.ts} after ${this.lastTs}`);
    this.lastTs = point.ts;
    const { ts, value, quality } = point;
    if (value === null) return;

    if (quality === 'good' && ts >= this.from && ts < this.to) {
      const bucket = this.bucket(this.bucketOf(ts));
      const n = point.aggregate?.count ?? 1;
      bucket.count += n;
      bucket.sum = (bucket.sum ?? 0) + value * n;
      bucket.min = Math.min(bucket.min ?? Infinity, point.aggregate?.min ?? value);
      bucket.max = Math.max(bucket.max ?? -Infinity, point.aggregate?.max ?? value);
      bucket.last = value;
    }

    if (this.kind !== 'counter' || !ANCHORS.has(quality)) return;
    if (quality === 'good' && this.anchor && ts - 1 >= this.from && ts - 1 < this.to) {
      const bucket = this.bucket(this.bucketOf(ts - 1));
      bucket.consumption = (bucket.consumption ?? 0) + (value - this.anchor.value);
    }
    this.anchor = { ts, value };
  }

  finish(): Bucket[] {
    return [...this.buckets.values()].sort((a, b) => a.ts - b.ts);
  }

  private bucket(ts: number): Bucket {
    let bucket = this.buckets.get(ts);
    if (!bucket) {
      bucket = { ts, count: 0, sum: null, min: null, max: null, last: null, consumption: this.kind === 'counter' ? 0 : null };
      this.buckets.set(ts, bucket);
    }
    return bucket;
  }
}

/** Merges finer buckets (in time order) into the coarser intervals `startOf` assigns them to. */
export function combineBuckets(finer: readonly Bucket[], startOf: (ts: number) => number): Bucket[] {
  const out: Bucket[] = [];
  let current: Bucket | undefined;
  for (const b of finer) {
    const start = startOf(b.ts);
    if (!current || current.ts !== start) {
      if (current && start < current.ts) throw new Error('buckets out of order');
      current = { ts: start, count: 0, sum: null, min: null, max: null, last: null, consumption: null };
      out.push(current);
    }
    current.count += b.count;
    if (b.sum !== null) current.sum = (current.sum ?? 0) + b.sum;
    if (b.min !== null) current.min = Math.min(current.min ?? Infinity, b.min);
    if (b.max !== null) current.max = Math.max(current.max ?? -Infinity, b.max);
    if (b.last !== null) current.last = b.last;
    if (b.consumption !== null) current.consumption = (current.consumption ?? 0) + b.consumption;
  }
  return out;
}

/** Mean of a bucket's good values. */
export function meanOf(bucket: Bucket): number | null {
  return bucket.sum === null || bucket.count === 0 ? null : bucket.sum / bucket.count;
}
