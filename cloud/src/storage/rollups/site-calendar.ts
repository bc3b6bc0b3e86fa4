import { DateTime, IANAZone } from 'luxon';

/** The rollup intervals engineers read: 15 minutes, and hours, days and months of the site's calendar. */
export const ROLLUP_LEVELS = ['15m', '1h', '1d', '1mo'] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

export const QUARTER_HOUR_MS = 15 * 60_000;

/** Nominal widths, for choosing a level from a requested step; days and months vary with DST. */
export const NOMINAL_LEVEL_MS: Record<RollupLevel, number> = {
  '15m': QUARTER_HOUR_MS,
  '1h': 3_600_000,
  '1d': 86_400_000,
  '1mo': 30 * 86_400_000,
};

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

export function floorQuarterHour(ts: number): number {
  return Math.floor(ts / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
}

const UNIT: Record<Exclude<RollupLevel, '15m'>, 'hour' | 'day' | 'month'> = { '1h': 'hour', '1d': 'day', '1mo': 'month' };

/**
 * Interval boundaries in one site's time zone. Every UTC offset in use is a whole number of quarter
 * hours, so each local hour, day and month is made of whole 15-minute buckets: the coarse rollups are
 * built from the 15-minute ones exactly, and a bucket's start depends only on which quarter hour it is
 * in (cached, since a year of rollups asks for the same few thousand boundaries again and again).
 */
export class SiteCalendar {
  private readonly cache = new Map<RollupLevel, Map<number, number>>();

  constructor(readonly timeZone: string) {
    if (!isValidTimeZone(timeZone)) throw new Error(`unknown time zone "${timeZone}" (expected an IANA name such as Asia/Shanghai)`);
  }

  /** Start of the interval of `level` that contains `ts`. */
  start(level: RollupLevel, ts: number): number {
    const quarter = floorQuarterHour(ts);
    if (level === '15m') return quarter;
    let byQuarter = this.cache.get(level);
    if (!byQuarter) this.cache.set(level, (byQuarter = new Map()));
    let start = byQuarter.get(quarter);
    if (start === undefined) {
      start = DateTime.fromMillis(quarter, { zone: this.timeZone }).startOf(UNIT[level]).toMillis();
      if (byQuarter.size > 200_000) byQuarter.clear();
      byQuarter.set(quarter, start);
    }
    return start;
  }

  /** Start of the interval after the one that starts at `start` (a local day may last 23 or 25 hours). */
  next(level: RollupLevel, start: number): number {
    if (level === '15m') return start + QUARTER_HOUR_MS;
    if (level === '1h') {
      // In the repeated hour of a DST fall-back, luxon may resolve the local hour to its first occurrence.
      const next = this.start('1h', start + 3_600_000);
      return next > start ? next : start + 3_600_000;
    }
    return DateTime.fromMillis(start, { zone: this.timeZone }).plus(level === '1d' ? { days: 1 } : { months: 1 }).toMillis();
  }

  /** Start of the first interval that begins at or after `ts`. */
  ceil(level: RollupLevel, ts: number): number {
    const start = this.start(level, ts);
    return start === ts ? ts : this.next(level, start);
  }
}

const calendars = new Map<string, SiteCalendar>();

export function calendarOf(timeZone: string): SiteCalendar {
  let calendar = calendars.get(timeZone);
  if (!calendar) calendars.set(timeZone, (calendar = new SiteCalendar(timeZone)));
  return calendar;
}
