import { DateTime } from 'luxon';
import { dayNumber, WORKDAY, type WorkCalendar } from '../detection/work-calendar.js';

/** Working hours of a site's facilities team, local time, e.g. 08:30–17:30 (on working days only). */
export interface WorkingHours {
  /** minutes after local midnight */
  startMinute: number;
  endMinute: number;
}

/** "08:30" → 510; throws naming the value when it is not HH:MM. */
export function minuteOfDay(hhmm: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!match) throw new Error(`expected a time of day HH:MM, got "${hhmm}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/**
 * When `minutes` of service time have passed after `start` (epoch ms): around the clock for `24x7`, or
 * counting only the working hours of working days in the site's time zone — so a low-priority order
 * raised on Friday evening before a holiday week is due after it, and one raised on a make-up Sunday
 * (调休) counts that Sunday.
 */
export function serviceDeadline(start: number, minutes: number, mode: '24x7' | 'working_hours', timeZone: string, calendar: WorkCalendar, hours: WorkingHours): number {
  if (mode === '24x7') return start + minutes * 60_000;
  let left = minutes * 60_000;
  let local = DateTime.fromMillis(start, { zone: timeZone });
  // Day by day: the part of each working day's hours after `local`. A year is plenty for any SLA.
  for (let i = 0; i < 400; i++) {
    const midnight = local.startOf('day');
    const day = dayNumber(midnight.toISODate()!);
    if (calendar.kindOf(day) === WORKDAY) {
      const open = midnight.plus({ minutes: hours.startMinute }).toMillis();
      const close = midnight.plus({ minutes: hours.endMinute }).toMillis();
      const from = Math.max(open, local.toMillis());
      if (from < close) {
        if (close - from >= left) return from + left;
        left -= close - from;
      }
    }
    local = midnight.plus({ days: 1 });
  }
  throw new Error(`no working time within 400 days of ${new Date(start).toISOString()}: check the working calendar`);
}
