import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { WorkCalendar } from '../../src/detection/work-calendar.js';
import { serviceDeadline } from '../../src/workorders/sla.js';
import { nextState, WORK_ORDER_ACTIONS, WORK_ORDER_STATES } from '../../src/workorders/work-order-rules.js';
import { slaStatus } from '../../src/workorders/work-order-store.js';
import { workOrdersConfigSchema } from '../../src/workorders/work-order-config.js';

describe('work order lifecycle', () => {
  // Written out by hand, state by state: what each action leads to, '—' where it is refused.
  const EXPECTED: Record<string, Record<string, string>> = {
    open: { assign: 'assigned', start: '—', hold: '—', resume: '—', complete: '—', close: '—', cancel: 'cancelled', reopen: '—' },
    assigned: { assign: 'assigned', start: 'in_progress', hold: '—', resume: '—', complete: '—', close: '—', cancel: 'cancelled', reopen: '—' },
    in_progress: { assign: 'in_progress', start: '—', hold: 'on_hold', resume: '—', complete: 'completed', close: '—', cancel: 'cancelled', reopen: '—' },
    on_hold: { assign: 'on_hold', start: '—', hold: '—', resume: 'in_progress', complete: '—', close: '—', cancel: 'cancelled', reopen: '—' },
    completed: { assign: '—', start: '—', hold: '—', resume: '—', complete: '—', close: 'closed', cancel: '—', reopen: 'assigned' },
    closed: { assign: '—', start: '—', hold: '—', resume: '—', complete: '—', close: '—', cancel: '—', reopen: 'assigned' },
    cancelled: { assign: '—', start: '—', hold: '—', resume: '—', complete: '—', close: '—', cancel: '—', reopen: '—' },
  };

  it('allows exactly the transitions of the lifecycle, from every state', () => {
    for (const state of WORK_ORDER_STATES) {
      for (const action of WORK_ORDER_ACTIONS) expect([state, action, nextState(action, state) ?? '—']).toEqual([state, action, EXPECTED[state]![action]]);
    }
  });
});

describe('SLA clocks', () => {
  const cn = WorkCalendar.china();
  const hours = { startMinute: 8 * 60 + 30, endMinute: 17 * 60 + 30 };
  const at = (local: string) => DateTime.fromISO(local, { zone: 'Asia/Shanghai' }).toMillis();
  const local = (ms: number) => DateTime.fromMillis(ms, { zone: 'Asia/Shanghai' }).toFormat("yyyy-LL-dd'T'HH:mm");

  it('around the clock: minutes after the start, holidays or not', () => {
    expect(local(serviceDeadline(at('2025-09-30T17:00'), 240, '24x7', 'Asia/Shanghai', cn, hours))).toBe('2025-09-30T21:00');
  });

  it('in working hours: stops at the end of the day and skips the National Day holiday week', () => {
    // 30 minutes on Tuesday 30 September, none from 1 to 8 October, the remaining 210 on Thursday 9 October.
    expect(local(serviceDeadline(at('2025-09-30T17:00'), 240, 'working_hours', 'Asia/Shanghai', cn, hours))).toBe('2025-10-09T12:00');
    // Raised at night: starts counting at 08:30 the next working day.
    expect(local(serviceDeadline(at('2025-10-09T23:10'), 60, 'working_hours', 'Asia/Shanghai', cn, hours))).toBe('2025-10-10T09:30');
  });

  it('in working hours: counts a make-up working Sunday (调休), not an ordinary Saturday', () => {
    // Sunday 28 September 2025 is a working day; Saturday 27 is not.
    expect(local(serviceDeadline(at('2025-09-27T10:00'), 60, 'working_hours', 'Asia/Shanghai', cn, hours))).toBe('2025-09-28T09:30');
    // Saturday 11 October 2025 is a make-up day too; Friday 10 October ends at 17:30.
    expect(local(serviceDeadline(at('2025-10-10T17:00'), 120, 'working_hours', 'Asia/Shanghai', cn, hours))).toBe('2025-10-11T10:00');
    // An ordinary weekend is skipped: Friday 14 November 17:00 + 60 min → Monday 17 November 09:00.
    expect(local(serviceDeadline(at('2025-11-14T17:00'), 60, 'working_hours', 'Asia/Shanghai', cn, hours))).toBe('2025-11-17T09:00');
  });

  it('says on track, due soon, breached, or met', () => {
    const start = 0;
    const due = 8 * 3_600_000;
    expect(slaStatus(start, due, null, 3_600_000)).toBe('on_track');
    expect(slaStatus(start, due, null, 5.9 * 3_600_000)).toBe('on_track');
    expect(slaStatus(start, due, null, 6.5 * 3_600_000)).toBe('due_soon');
    // An hour to respond: due soon in its last 15 minutes; three days: in the last 4 hours.
    expect(slaStatus(0, 3_600_000, null, 40 * 60_000)).toBe('on_track');
    expect(slaStatus(0, 3_600_000, null, 46 * 60_000)).toBe('due_soon');
    expect(slaStatus(0, 72 * 3_600_000, null, 67 * 3_600_000)).toBe('on_track');
    expect(slaStatus(0, 72 * 3_600_000, null, 68.5 * 3_600_000)).toBe('due_soon');
    expect(slaStatus(start, due, null, 7.5 * 3_600_000)).toBe('due_soon');
    expect(slaStatus(start, due, null, due + 1)).toBe('breached');
    expect(slaStatus(start, due, due - 1, due + 10)).toBe('met');
    expect(slaStatus(start, due, due + 1, due + 10)).toBe('breached');
  });
});

describe('work order configuration', () => {
  it('refuses a rule naming an unknown team, a rule raising nothing, a team declared twice and working hours that end before they start', () => {
    const result = workOrdersConfigSchema.safeParse({
      teams: [{ id: 'maintenance', name: 'M' }, { id: 'maintenance', name: 'M2' }],
      rules: [
        { findings: ['leak'], category: 'plumbing', priority: 2, team: 'plumbers' },
        { category: 'other', priority: 4, team: 'maintenance' },
      ],
      workingHours: { start: '18:00', end: '09:00' },
    });
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'teams.1.id: team "maintenance" is declared twice',
        'rules.0.team: unknown team "plumbers" (declared: maintenance)',
        'rules.1: a rule needs findings or faults to raise orders from',
        'workingHours: working hours must end after they start',
      ]),
    );
    expect(workOrdersConfigSchema.safeParse({ workingHours: { start: '8:30' } }).error?.issues[0]?.message).toBe('expected a time of day HH:MM');
  });
});
