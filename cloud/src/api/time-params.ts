import { DateTime } from 'luxon';
import type { SqlExecutor } from '../storage/sql-client.js';
import { DEFAULT_TIME_ZONE } from '../storage/series-catalogue.js';
import { z } from 'zod';

/**
 * A time from a query string, resolved once the site is known: an absolute instant (epoch ms, or ISO
 * 8601 with `Z` or an offset) is what it says anywhere; a date or a time without an offset is read in
 * the site's time zone (`2026-12-04` is midnight at the site).
 */
export interface TimeParam {
  /** the text as given */
  readonly text: string;
  /** true when it is read in the site's time zone (a date, or a time without an offset) */
  readonly zoned: boolean;
  /** epoch ms of the time at a site in `timeZone` */
  at(timeZone: string): number;
}

/** Year 1970 to 9999: what the database's timestamps and this API's epoch milliseconds can hold. */
const LATEST_MS = 253_402_300_799_999;
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;
const EXPECTED = 'expected an ISO 8601 time (2026-11-26T08:00:00+08:00; 2026-11-26 for midnight at the site) or epoch milliseconds';

/** Parses a query-string time strictly, or says what is wrong with it. */
export function parseTimeParam(text: string): TimeParam | string {
  if (/^\d+$/.test(text)) {
    if (text.length === 4 && text !== '0000') return `${EXPECTED}: "${text}" looks like a year; write ${text}-01-01`;
    const ms = Number(text);
    if (!Number.isSafeInteger(ms) || ms > LATEST_MS) return `${EXPECTED} between 1970 and 9999: ${text} is out of range`;
    return { text, zoned: false, at: () => ms };
  }
  const m = ISO_8601.exec(text);
  if (!m) return `${EXPECTED}, not "${text}"`;
  const [, y, mo, d, h, mi, sec, fraction, offset] = m;
  const fields = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(sec ?? 0),
    millisecond: fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0,
  };
  if (fields.hour > 23 || fields.minute > 59 || fields.second > 59) return `${EXPECTED}: "${text}" is not a time of day`;
  // Luxon refuses 30 February and the like instead of rolling them over.
  const probe = DateTime.fromObject(fields, { zone: 'UTC' });
  if (!probe.isValid) return `${EXPECTED}: "${text}" is not a date (${probe.invalidExplanation ?? probe.invalidReason})`;
  let zone: string | undefined;
  if (offset) {
    const o = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset);
    if (o && (Number(o[2]) > 14 || Number(o[3] ?? 0) > 59)) return `${EXPECTED}: "${offset}" is not a UTC offset`;
    zone = o ? `UTC${o[1]}${Number(o[2])}${o[3] && o[3] !== '00' ? `:${o[3]}` : ''}` : 'UTC';
  }
  const resolve = (timeZone: string) => DateTime.fromObject(fields, { zone: zone ?? timeZone }).toMillis();
  if (zone) {
    const ms = resolve(zone);
    if (ms < 0 || ms > LATEST_MS) return `${EXPECTED} between 1970 and 9999: "${text}" is out of range`;
    return { text, zoned: false, at: () => ms };
  }
  return { text, zoned: true, at: (timeZone: string) => Math.min(LATEST_MS, Math.max(0, resolve(timeZone))) };
}

/**
 * The time zone a query's times without an offset are read in: the named site's, or the service's
 * default (the demo's, Asia/Shanghai) where a query spans sites.
 */
export async function zoneForTimes(db: Pick<SqlExecutor, 'query'>, site: string | undefined, times: readonly (TimeParam | undefined)[]): Promise<string> {
  // Asked only when a time needs it: absolute times read the same in every zone.
  if (site === undefined || !times.some((t) => t?.zoned)) return DEFAULT_TIME_ZONE;
  const rows = await db.query<{ zone: string }>('SELECT time_zone AS zone FROM sites WHERE id = $1', [site]);
  return rows[0]?.zone ?? DEFAULT_TIME_ZONE;
}

/** ISO 8601 or epoch milliseconds, strictly; see parseTimeParam. */
export const instantParam = z
  .string()
  .transform((text, ctx): TimeParam => {
    const parsed = parseTimeParam(text);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({ description: 'ISO 8601 (a date or a time without an offset is read in the site\'s time zone) or epoch milliseconds', example: '2026-11-26T08:00:00+08:00' });

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `raw`, a rollup level (`15m`, `1h`, `1d`, `1mo`) or any duration (`30s`, `6h`, `7d`). */
export const stepParam = z
  .string()
  .regex(/^(raw|1mo|\d+(s|m|h|d))$/, 'expected raw, 1mo or a duration like 30s, 15m, 1h, 1d')
  .transform((text): { kind: 'raw' } | { kind: 'level'; level: '1mo' } | { kind: 'width'; ms: number } => {
    if (text === 'raw') return { kind: 'raw' };
    if (text === '1mo') return { kind: 'level', level: '1mo' };
    return { kind: 'width', ms: Number(text.slice(0, -1)) * (DURATION_UNITS[text.slice(-1)] ?? 0) };
  })
  .refine((step) => step.kind !== 'width' || step.ms >= 1000, 'expected a step of at least 1s')
  .meta({ description: 'raw, 15m, 1h, 1d, 1mo, or a width such as 1m or 6h', example: '15m' });
