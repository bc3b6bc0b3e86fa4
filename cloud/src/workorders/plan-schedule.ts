import { DateTime } from 'luxon';
import { z } from 'zod';
import { dayNumber, isoDateOf } from '../detection/work-calendar.js';

/** A calendar date, YYYY-MM-DD, that exists. */
export const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
  .refine((v) => isoDateOf(dayNumber(v)) === v, 'expected a date that exists');

export const PLAN_UNITS = ['day', 'week', 'month'] as const;
export type PlanUnit = (typeof PLAN_UNITS)[number];

/**
 * When a plan comes due by the calendar: every `every` days, weeks or months; weekly plans on the given
 * ISO weekdays (1 Monday … 7 Sunday), else on the weekday they started.
 */
export interface CalendarRule {
  every: number;
  unit: PlanUnit;
  weekdays?: readonly number[] | null;
}

const WEEKDAY = (day: number) => ((((day + 3) % 7) + 7) % 7) + 1; // 1970-01-01 was a Thursday (4)

/** The first due date of a plan that starts on `startsOn`: that day, or the first listed weekday after it. */
export function firstDue(rule: CalendarRule, startsOn: string): string {
  const start = dayNumber(startsOn);
  if (rule.unit !== 'week' || !rule.weekdays?.length) return startsOn;
  for (let d = start; d < start + 7; d++) if (rule.weekdays.includes(WEEKDAY(d))) return isoDateOf(d);
  return startsOn;
}

/**
 * The due date that follows a service (or an occurrence) on `anchor`. Intervals run from the last
 * service, as the periodic checks demand (a lift is serviced at most 15 days after its last service,
 * not on a fixed grid that a late visit would squeeze).
 */
export function dueAfter(rule: CalendarRule, anchor: string): string {
  const day = dayNumber(anchor);
  switch (rule.unit) {
    case 'day':
      return isoDateOf(day + rule.every);
    case 'month':
      // Luxon clamps the 31st to the month's last day.
      return DateTime.fromISO(anchor, { zone: 'UTC' }).plus({ months: rule.every }).toISODate()!;
    case 'week': {
      if (!rule.weekdays?.length) return isoDateOf(day + 7 * rule.every);
      const weekday = WEEKDAY(day);
      const later = [...rule.weekdays].filter((w) => w > weekday).sort((a, b) => a - b)[0];
      if (later !== undefined) return isoDateOf(day + later - weekday);
      const monday = day - (weekday - 1) + 7 * rule.every;
      return isoDateOf(monday + Math.min(...rule.weekdays) - 1);
    }
  }
}

/** A site-local date's first instant. */
export function startOfLocalDay(date: string, timeZone: string): number {
  return DateTime.fromISO(date, { zone: timeZone }).startOf('day').toMillis();
}

/** The site-local date an instant falls on. */
export function localDate(ts: number, timeZone: string): string {
  return DateTime.fromMillis(ts, { zone: timeZone }).toISODate()!;
}

export function addDays(date: string, days: number): string {
  return isoDateOf(dayNumber(date) + days);
}

/** "every 15 days", "every 2 weeks on Mon, Thu", for logs and errors. */
export function describeRule(rule: CalendarRule): string {
  const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const unit = rule.every === 1 ? rule.unit : `${rule.every} ${rule.unit}s`;
  const on = rule.unit === 'week' && rule.weekdays?.length ? ` on ${rule.weekdays.map((w) => names[w - 1]).join(', ')}` : '';
  return `every ${unit}${on}`;
}
