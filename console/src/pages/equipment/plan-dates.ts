import { useSyncExternalStore } from 'react';
import { translateValue, type MessageKey, type Translate } from '../../shell/i18n';
import { formatDate } from '../../shell/time';
import type { CalendarRule, UsageRule } from './equipment-types';

/**
 * The ledger's dates are site-local calendar dates (YYYY-MM-DD), not instants: they are computed on
 * as day numbers in UTC arithmetic, so that no browser time zone ever moves them by a day.
 */

const DAY_MS = 86_400_000;

export function dayNumber(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  return Math.floor(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1) / DAY_MS);
}

export function dateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return dateOfDay(dayNumber(date) + days);
}

/** 1 Monday … 7 Sunday */
export function isoWeekday(date: string): number {
  return ((new Date(dayNumber(date) * DAY_MS).getUTCDay() + 6) % 7) + 1;
}

/** Today on the site's calendar. */
export function todayIn(timeZone: string): string {
  return formatDate(Date.now(), timeZone);
}

/** Days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** 'YYYY-MM' of a date. */
export function monthOf(date: string): string {
  return date.slice(0, 7);
}

/** The month `delta` months after (or before) a 'YYYY-MM' month. */
export function shiftMonth(month: string, delta: number): string {
  const [y, m] = month.split('-').map(Number);
  const index = (y ?? 1970) * 12 + ((m ?? 1) - 1) + delta;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** The days a month grid shows: whole weeks, Monday first, from the Monday on or before the 1st. */
export function monthGrid(month: string): string[] {
  const first = `${month}-01`;
  const start = addDays(first, 1 - isoWeekday(first));
  const lastOfMonth = addDays(`${shiftMonth(month, 1)}-01`, -1);
  const end = addDays(lastOfMonth, 7 - isoWeekday(lastOfMonth));
  const days: string[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) days.push(d);
  return days;
}

/** "December 2026" / "2026年12月": the month as the language names it (the 1st at UTC noon, so no zone moves it). */
export function monthTitle(month: string, lang: string): string {
  const [y, m] = month.split('-').map(Number);
  return new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'long', timeZone: 'UTC' }).format(Date.UTC(y ?? 1970, (m ?? 1) - 1, 1, 12));
}

export function weekdayName(t: Translate, weekday: number): string {
  return translateValue(t, 'eqWeekday', weekday);
}

const EVERY_KEYS: Record<CalendarRule['unit'], { one: MessageKey; many: MessageKey }> = {
  day: { one: 'eq.everyDay', many: 'eq.everyDays' },
  week: { one: 'eq.everyWeek', many: 'eq.everyWeeks' },
  month: { one: 'eq.everyMonth', many: 'eq.everyMonths' },
};

/** "every 15 days", "every 2 weeks on Mon, Thu" / "每15天", "每2周（周一、周四）". */
export function calendarInWords(t: Translate, rule: CalendarRule): string {
  const keys = EVERY_KEYS[rule.unit];
  const every = rule.every === 1 ? t(keys.one) : t(keys.many, { n: rule.every });
  if (rule.unit !== 'week' || !rule.weekdays?.length) return every;
  const days = [...rule.weekdays].sort((a, b) => a - b).map((w) => weekdayName(t, w));
  return t('eq.onWeekdays', { rule: every, days: days.join(t('eq.listSeparator')) });
}

/** A plan's schedule in words: its calendar, its usage, or both (whichever comes first). */
export function scheduleInWords(t: Translate, plan: { calendar: CalendarRule | null; usage: UsageRule | null }): string {
  const usage = plan.usage ? { every: formatAmount(plan.usage.every), metric: plan.usage.metric } : null;
  if (plan.calendar && usage) return t('eq.orUsage', { rule: calendarInWords(t, plan.calendar), ...usage });
  if (plan.calendar) return calendarInWords(t, plan.calendar);
  if (usage) return t('eq.usageOnly', usage);
  return '—';
}

/** A counter's amount without a float's noise: 1,234.5 */
export function formatAmount(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

const NARROW = '(max-width: 600px)';

function subscribeNarrow(callback: () => void): () => void {
  const query = window.matchMedia(NARROW);
  query.addEventListener('change', callback);
  return () => query.removeEventListener('change', callback);
}

/** A phone held upright: where a month grid has no room for the entries themselves. */
export function useNarrowScreen(): boolean {
  return useSyncExternalStore(subscribeNarrow, () => window.matchMedia(NARROW).matches);
}
