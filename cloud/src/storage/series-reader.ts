import { BucketCalculator, combineBuckets } from './rollups/bucket-calculator.js';
import { calendarOf, NOMINAL_LEVEL_MS, type RollupLevel } from './rollups/site-calendar.js';
import type { Bucket, DeviceBucket, RawPoint, SeriesRef, TimeSeriesStore } from './time-series-store.js';

/** What a series request asks for: a level by name, a width in ms, raw readings, or a choice made for it. */
export type StepRequest = { kind: 'auto' } | { kind: 'raw' } | { kind: 'level'; level: RollupLevel } | { kind: 'width'; ms: number };

export type Resolution = 'raw' | RollupLevel | 'computed';

export type SeriesAnswer =
  | { resolution: 'raw'; stepMs: null; points: RawPoint[] }
  | { resolution: Exclude<Resolution, 'raw'>; stepMs: number; points: Bucket[] };

export class SeriesReadError extends Error {
  constructor(
    readonly code: 'GH_TOO_MANY_POINTS',
    message: string,
  ) {
    super(message);
  }
}

const DAY_MS = 86_400_000;

/** Points one series answer may hold; a resolution picked from the range alone always stays within it. */
export const MAX_SERIES_POINTS = 20_000;
/** Raw readings read to compute buckets narrower than the rollups (e.g. 1-minute steps). */
const MAX_RAW_FOR_COMPUTED = 500_000;

/**
 * Picks the resolution of a series request. Auto: raw readings up to two days, 15-minute buckets up to
 * two months, hourly up to two years, daily beyond. A width that is a whole number of a rollup level
 * (6h, 7d) is built from that level in the site's calendar; a width below 15 minutes or off the grid
 * (1m, 10m) is computed from the raw readings.
 */
export function chooseResolution(step: StepRequest, from: number, to: number): { kind: 'raw' } | { kind: 'level'; level: RollupLevel; multiple: number } | { kind: 'computed'; ms: number } {
  const span = to - from;
  switch (step.kind) {
    case 'raw':
      return { kind: 'raw' };
    case 'level':
      return { kind: 'level', level: step.level, multiple: 1 };
    case 'auto':
      if (span <= 2 * DAY_MS) return { kind: 'raw' };
      if (span <= 62 * DAY_MS) return { kind: 'level', level: '15m', multiple: 1 };
      if (span <= 731 * DAY_MS) return { kind: 'level', level: '1h', multiple: 1 };
      // Days up to the point cap (some 54 years), months beyond: `from=0` answers, never refuses.
      if (span <= MAX_SERIES_POINTS * DAY_MS) return { kind: 'level', level: '1d', multiple: 1 };
      return { kind: 'level', level: '1mo', multiple: 1 };
    case 'width':
      for (const level of ['1d', '1h', '15m'] as const) {
        const width = NOMINAL_LEVEL_MS[level];
        if (step.ms >= width && step.ms % width === 0) return { kind: 'level', level, multiple: step.ms / width };
      }
      return { kind: 'computed', ms: step.ms };
  }
}

export class SeriesReader {
  constructor(private readonly store: TimeSeriesStore) {}

  async read(series: SeriesRef, step: StepRequest, from: number, to: number, limit: number): Promise<SeriesAnswer> {
    const choice = chooseResolution(step, from, to);
    if (choice.kind === 'raw') return { resolution: 'raw', stepMs: null, points: await this.store.readRaw(series, from, to, limit) };
    if (choice.kind === 'computed') return { resolution: 'computed', stepMs: choice.ms, points: (await this.computed(series, choice.ms, from, to)).slice(0, limit) };
    const calendar = calendarOf(await this.store.timeZoneOf(series.site));
    const { level, multiple } = choice;
    // Whole intervals: a day asked from 10:00 is the whole local day.
    const start = calendar.start(level, from);
    const buckets = (await this.store.readRollup(level, [series], start, to)).get(series.id) ?? [];
    if (multiple === 1) return { resolution: level, stepMs: NOMINAL_LEVEL_MS[level], points: buckets.slice(0, limit) };
    // N hours or N days, counted from the local start of the first day asked for.
    const origin = calendar.start('1d', from);
    const width = NOMINAL_LEVEL_MS[level] * multiple;
    let groupOf = (ts: number) => origin + Math.floor((ts - origin) / width) * width;
    if (level === '1d') {
      // Local days vary in length across DST: walk them once, each to the first day of its group.
      const groupStart = new Map<number, number>();
      let days = 0;
      let current = origin;
      for (let day = origin; day < to; day = calendar.next('1d', day), days++) {
        if (days % multiple === 0) current = day;
        groupStart.set(day, current);
      }
      groupOf = (ts: number) => groupStart.get(ts) ?? ts;
    }
    return { resolution: level, stepMs: width, points: combineBuckets(buckets, groupOf).slice(0, limit) };
  }

  /** The same arithmetic as the rollups, over the raw readings, for widths the rollups do not hold. */
  private async computed(series: SeriesRef, width: number, from: number, to: number): Promise<Bucket[]> {
    const bucketOf = (ts: number) => Math.floor(ts / width) * width;
    const start = bucketOf(from);
    const end = bucketOf(to - 1) + width;
    const anchor = series.kind === 'counter' ? await this.store.lastAnchorBefore(series, start) : undefined;
    const raw = await this.store.readRaw(series, start, end + 1, MAX_RAW_FOR_COMPUTED + 1);
    if (raw.length > MAX_RAW_FOR_COMPUTED) {
      throw new SeriesReadError('GH_TOO_MANY_POINTS', `a ${width / 1000} s step over this range needs more than ${MAX_RAW_FOR_COMPUTED} raw readings: use a step of 15m or a multiple of it`);
    }
    const calculator = new BucketCalculator(series.kind, start, end, bucketOf, anchor);
    for (const p of raw) calculator.add(p);
    return calculator.finish();
  }

  /** One rollup level for every device of a site with this metric (e.g. daily energy of all meters). */
  async site(series: readonly SeriesRef[], level: RollupLevel, from: number, to: number): Promise<DeviceBucket[][]> {
    if (series.length === 0) return [];
    const calendar = calendarOf(await this.store.timeZoneOf(series[0]!.site));
    const byId = await this.store.readRollup(level, series, calendar.start(level, from), to);
    return series.map((s) => (byId.get(s.id) ?? []).map((b) => ({ ...b, device: s.device })));
  }
}
