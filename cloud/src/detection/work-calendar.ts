import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { parse as parseYaml } from 'yaml';

/**
 * Which days a building works. Consumption follows the working calendar, not the weekday: in China a
 * public holiday can fall on a Wednesday and a Sunday can be a make-up working day (调休), so a
 * baseline by weekday alone alerts on both. Days are grouped into three kinds whose load shapes differ:
 * working days (make-up days included), Saturdays, and Sundays with holidays and site closures.
 */
export const DAY_KINDS = ['workday', 'saturday', 'rest'] as const;
export type DayKind = (typeof DAY_KINDS)[number];
export const WORKDAY = 0;
export const SATURDAY = 1;
export const REST_DAY = 2;

interface CalendarYear {
  /** rest days of the public holidays, bridging weekends included: [first, last] local dates */
  holidays: [string, string, string][];
  /** make-up working days on a weekend */
  workdays: string[];
}

/**
 * China's public holidays and make-up working days, from the State Council General Office's yearly
 * notices (国务院办公厅关于 20xx 年部分节假日安排的通知). 2027 holds the statutory days of the
 * holiday regulations as revised in 2024 (元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3);
 * the bridging days and make-up days of its notice go in a calendar file (docs/energy-detection.md).
 */
const CHINA: Record<number, CalendarYear> = {
  2024: {
    holidays: [
      ['2023-12-30', '2024-01-01', '元旦 New Year'],
      ['2024-02-10', '2024-02-17', '春节 Spring Festival'],
      ['2024-04-04', '2024-04-06', '清明节 Qingming'],
      ['2024-05-01', '2024-05-05', '劳动节 Labour Day'],
      ['2024-06-08', '2024-06-10', '端午节 Dragon Boat Festival'],
      ['2024-09-15', '2024-09-17', '中秋节 Mid-Autumn Festival'],
      ['2024-10-01', '2024-10-07', '国庆节 National Day'],
    ],
    workdays: ['2024-02-04', '2024-02-18', '2024-04-07', '2024-04-28', '2024-05-11', '2024-09-14', '2024-09-29', '2024-10-12'],
  },
  2025: {
    holidays: [
      ['2025-01-01', '2025-01-01', '元旦 New Year'],
      ['2025-01-28', '2025-02-04', '春节 Spring Festival'],
      ['2025-04-04', '2025-04-06', '清明节 Qingming'],
      ['2025-05-01', '2025-05-05', '劳动节 Labour Day'],
      ['2025-05-31', '2025-06-02', '端午节 Dragon Boat Festival'],
      ['2025-10-01', '2025-10-08', '国庆节、中秋节 National Day and Mid-Autumn Festival'],
    ],
    workdays: ['2025-01-26', '2025-02-08', '2025-04-27', '2025-09-28', '2025-10-11'],
  },
  2026: {
    holidays: [
      ['2026-01-01', '2026-01-03', '元旦 New Year'],
      ['2026-02-15', '2026-02-23', '春节 Spring Festival'],
      ['2026-04-04', '2026-04-06', '清明节 Qingming'],
      ['2026-05-01', '2026-05-05', '劳动节 Labour Day'],
      ['2026-06-19', '2026-06-21', '端午节 Dragon Boat Festival'],
      ['2026-09-25', '2026-09-27', '中秋节 Mid-Autumn Festival'],
      ['2026-10-01', '2026-10-07', '国庆节 National Day'],
    ],
    workdays: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
  },
  2027: {
    holidays: [
      ['2027-01-01', '2027-01-01', '元旦 New Year'],
      ['2027-02-05', '2027-02-08', '春节 Spring Festival'],
      ['2027-04-05', '2027-04-05', '清明节 Qingming'],
      ['2027-05-01', '2027-05-02', '劳动节 Labour Day'],
      ['2027-06-09', '2027-06-09', '端午节 Dragon Boat Festival'],
      ['2027-09-15', '2027-09-15', '中秋节 Mid-Autumn Festival'],
      ['2027-10-01', '2027-10-03', '国庆节 National Day'],
    ],
    workdays: [],
  },
};

/** Years for which the built-in Chinese calendar holds the State Council's full arrangement. */
export const CHINA_CALENDAR_YEARS = [2024, 2025, 2026] as const;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Local dates as days since 1970-01-01, the key of every per-day table here. */
export function dayNumber(isoDate: string): number {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  return Math.round(Date.UTC(y, m - 1, d) / 86_400_000);
}

export function isoDateOf(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export class WorkCalendar {
  private readonly rest = new Map<number, string>();
  private readonly work = new Set<number>();

  constructor(readonly name: string) {}

  /** The built-in calendar of China's public holidays and make-up working days. */
  static china(): WorkCalendar {
    const calendar = new WorkCalendar('cn');
    for (const year of Object.values(CHINA)) {
      for (const [from, to, name] of year.holidays) calendar.addRest(from, to, name);
      for (const day of year.workdays) calendar.addWorkday(day);
    }
    return calendar;
  }

  /** Weekends only. */
  static weekendsOnly(): WorkCalendar {
    return new WorkCalendar('none');
  }

  /**
   * `cn`, `none`, or a YAML/JSON file: `base` (cn or none, default cn), `holidays` and `closures` (rest
   * days: a date or "first..last"), `workdays` (make-up working days).
   */
  static load(spec: string): WorkCalendar {
    if (spec === 'cn') return WorkCalendar.china();
    if (spec === 'none') return WorkCalendar.weekendsOnly();
    let text: string;
    try {
      text = readFileSync(spec, 'utf8');
    } catch (err) {
      throw new Error(`calendar ${spec}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected cn, none or a calendar file`);
    }
    return WorkCalendar.fromDocument(parseYaml(text) as unknown, spec);
  }

  static fromDocument(doc: unknown, source: string): WorkCalendar {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`calendar ${source}: expected a mapping with holidays, workdays or closures`);
    const record = doc as Record<string, unknown>;
    const known = new Set(['base', 'holidays', 'workdays', 'closures']);
    for (const key of Object.keys(record)) if (!known.has(key)) throw new Error(`calendar ${source}: unknown key "${key}" (expected base, holidays, workdays, closures)`);
    const base = record.base ?? 'cn';
    if (base !== 'cn' && base !== 'none') throw new Error(`calendar ${source}: base must be cn or none, not ${JSON.stringify(base)}`);
    const calendar = base === 'cn' ? WorkCalendar.china() : WorkCalendar.weekendsOnly();
    const list = (key: string): string[] => {
      const value = record[key] ?? [];
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Error(`calendar ${source}: ${key} must be a list of dates (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)`);
      return value as string[];
    };
    for (const key of ['holidays', 'closures'] as const) {
      for (const entry of list(key)) {
        const [from = '', to = from] = entry.split('..');
        if (!DATE.test(from) || !DATE.test(to) || dayNumber(to) < dayNumber(from)) throw new Error(`calendar ${source}: ${key} entry "${entry}" is not a date or a range first..last`);
        calendar.addRest(from, to, key === 'closures' ? 'site closed' : 'holiday');
      }
    }
    for (const day of list('workdays')) {
      if (!DATE.test(day)) throw new Error(`calendar ${source}: workdays entry "${day}" is not a date YYYY-MM-DD`);
      calendar.addWorkday(day);
    }
    return calendar;
  }

  /** A plain copy (for worker threads). */
  toJSON(): { name: string; rest: [number, string][]; work: number[] } {
    return { name: this.name, rest: [...this.rest.entries()], work: [...this.work] };
  }

  static fromJSON(json: { name: string; rest: [number, string][]; work: number[] }): WorkCalendar {
    const calendar = new WorkCalendar(json.name);
    for (const [day, name] of json.rest) calendar.rest.set(day, name);
    for (const day of json.work) calendar.work.add(day);
    return calendar;
  }

  addRest(from: string, to: string, name: string): void {
    for (let d = dayNumber(from); d <= dayNumber(to); d++) {
      this.rest.set(d, name);
      this.work.delete(d);
    }
  }

  addWorkday(day: string): void {
    this.work.add(dayNumber(day));
    this.rest.delete(dayNumber(day));
  }

  /** WORKDAY, SATURDAY or REST_DAY for a local date (days since 1970-01-01). */
  kindOf(day: number): number {
    if (this.work.has(day)) return WORKDAY;
    if (this.rest.has(day)) return REST_DAY;
    const weekday = (day + 4) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
    if (weekday === 6) return SATURDAY;
    if (weekday === 0) return REST_DAY;
    return WORKDAY;
  }

  /** The holiday or closure a date belongs to, if any. */
  holidayOf(day: number): string | undefined {
    return this.rest.get(day);
  }

  isMakeUpWorkday(day: number): boolean {
    return this.work.has(day);
  }
}

/**
 * Local time of each 15-minute slot of a grid, in one time zone: hour of day, local date and that date's
 * kind. Built once per grid and shared by every meter on it.
 */
export class SlotClock {
  readonly hour: Uint8Array;
  readonly day: Int32Array;
  readonly kind: Uint8Array;
  /** slot index of each local midnight in the grid, ascending */
  readonly midnights: number[] = [];

  constructor(
    readonly start: number,
    readonly slots: number,
    readonly timeZone: string,
    readonly calendar: WorkCalendar,
  ) {
    this.hour = new Uint8Array(slots);
    this.day = new Int32Array(slots);
    this.kind = new Uint8Array(slots);
    let offsetMinutes = 0;
    let offsetValidUntil = -Infinity;
    for (let i = 0; i < slots; i++) {
      const ts = start + i * SLOT_MS;
      if (ts >= offsetValidUntil) {
        // Offsets change at most at whole quarter hours; re-read them once per UTC hour.
        offsetMinutes = DateTime.fromMillis(ts, { zone: timeZone }).offset;
        offsetValidUntil = ts - (ts % 3_600_000) + 3_600_000;
      }
      const local = ts + offsetMinutes * 60_000;
      const day = Math.floor(local / 86_400_000);
      this.day[i] = day;
      this.hour[i] = Math.floor((local - day * 86_400_000) / 3_600_000);
      this.kind[i] = calendar.kindOf(day);
      if (i === 0 ? local % 86_400_000 === 0 : this.day[i - 1] !== day) this.midnights.push(i);
    }
  }
}

export const SLOT_MS = 15 * 60_000;
