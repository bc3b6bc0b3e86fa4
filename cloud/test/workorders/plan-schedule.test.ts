import { describe, expect, it } from 'vitest';
import { nextCalendarDue } from '../../src/workorders/maintenance-plans.js';
import { resolvePlan } from '../../src/workorders/plan-input.js';
import { dueAfter, firstDue, localDate, startOfLocalDay } from '../../src/workorders/plan-schedule.js';
import { workOrdersConfigSchema } from '../../src/workorders/work-order-config.js';

// The calendar arithmetic of preventive plans: intervals from the last service, months that are
// shorter, weekly plans on given weekdays, and the site's own midnight.
describe('plan calendars', () => {
  it('counts days, weeks and months from the anchor, clamping the 31st to a shorter month', () => {
    expect(dueAfter({ every: 15, unit: 'day' }, '2026-12-25')).toBe('2027-01-09');
    expect(dueAfter({ every: 2, unit: 'week' }, '2026-12-04')).toBe('2026-12-18');
    expect(dueAfter({ every: 1, unit: 'month' }, '2027-01-31')).toBe('2027-02-28');
    expect(dueAfter({ every: 1, unit: 'month' }, '2028-01-31')).toBe('2028-02-29');
    expect(dueAfter({ every: 3, unit: 'month' }, '2026-11-30')).toBe('2027-02-28');
  });

  it('puts weekly plans on their weekdays: the next one this week, else the first one `every` weeks on', () => {
    const monThu = { every: 1, unit: 'week' as const, weekdays: [1, 4] };
    // 2026-12-07 is a Monday.
    expect(firstDue(monThu, '2026-12-05')).toBe('2026-12-07');
    expect(dueAfter(monThu, '2026-12-07')).toBe('2026-12-10');
    expect(dueAfter(monThu, '2026-12-10')).toBe('2026-12-14');
    expect(dueAfter(monThu, '2026-12-12')).toBe('2026-12-14');
    const fortnightlyFriday = { every: 2, unit: 'week' as const, weekdays: [5] };
    expect(dueAfter(fortnightlyFriday, '2026-12-11')).toBe('2026-12-25');
    expect(dueAfter({ every: 1, unit: 'week', weekdays: [7] }, '2026-12-13')).toBe('2026-12-20');
  });

  it('follows the last service: a completed order moves the next date, an open one does not', () => {
    const lift = { every: 15, unit: 'day' as const };
    expect(nextCalendarDue(lift, '2026-03-02', '2026-03-01', undefined)).toBe('2026-03-02');
    expect(nextCalendarDue(lift, '2026-03-02', '2026-03-01', { dueOn: '2026-03-02', completedOn: null })).toBe('2026-03-17');
    expect(nextCalendarDue(lift, '2026-03-02', '2026-03-01', { dueOn: '2026-03-02', completedOn: '2026-03-05' })).toBe('2026-03-20');
    // A plan made today on a start date long past owes nothing before today.
    expect(nextCalendarDue(lift, '2026-01-01', '2026-03-01', undefined)).toBe('2026-03-02');
  });

  it('reads dates in the site time zone', () => {
    expect(startOfLocalDay('2026-03-02', 'Asia/Shanghai')).toBe(Date.parse('2026-03-01T16:00:00Z'));
    expect(localDate(Date.parse('2026-03-01T16:30:00Z'), 'Asia/Shanghai')).toBe('2026-03-02');
    expect(localDate(Date.parse('2026-03-01T16:30:00Z'), 'Europe/London')).toBe('2026-03-01');
  });

  it('fills a plan from its template, in the team language', () => {
    const plan = resolvePlan({ site: 's', asset: 'lift-1', template: 'lift_15_day', team: 't', startsOn: '2026-03-02', active: true }, 'zh-CN');
    expect([plan.name, plan.category, plan.priority, plan.calendar, plan.leadDays, plan.checklist.length]).toEqual(['电梯半月维护保养', 'lift', 2, { every: 15, unit: 'day' }, 2, 8]);
    const fire = resolvePlan({ site: 's', asset: 'fp', template: 'fire_monthly', team: 't', startsOn: '2026-03-01', active: true }, 'en');
    expect([fire.name, fire.calendar]).toEqual(['Monthly fire-equipment inspection', { every: 1, unit: 'month' }]);
    expect(() => resolvePlan({ site: 's', asset: 'a', team: 't', startsOn: '2026-03-01', active: true, name: 'x' }, 'en')).toThrow('a plan without a template needs category, priority');
    expect(() => resolvePlan({ site: 's', asset: 'a', team: 't', startsOn: '2026-03-01', active: true, name: 'x', category: 'other', priority: 3 }, 'en')).toThrow(/needs a calendar/);
  });

  it('refuses declared plans that do not hold together, saying where', () => {
    const issues = (plans: unknown[]) => {
      const parsed = workOrdersConfigSchema.safeParse({ teams: [{ id: 'lifts', name: 'Lifts' }], plans });
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues([{ key: 'l1', site: 's', asset: 'lift-1', template: 'lift_15_day', team: 'lifts', startsOn: '2026-03-02' }])).toEqual([]);
    expect(issues([{ key: 'l1', site: 's', asset: 'lift-1', template: 'lift_15_day', team: 'nobody', startsOn: '2026-03-02' }])).toEqual(['plans.0.team: unknown team "nobody" (declared: lifts)']);
    expect(issues([{ key: 'l1', site: 's', asset: 'a', template: 'lift_15_day', team: 'lifts', startsOn: '2026-02-30' }])).toEqual(['plans.0.startsOn: expected a date that exists']);
    expect(issues([{ key: 'l1', site: 's', asset: 'a', team: 'lifts', startsOn: '2026-02-03', name: 'x', category: 'other', priority: 3, calendar: { every: 1, unit: 'month', weekdays: [1] } }])).toEqual([
      'plans.0.calendar.weekdays: weekdays apply to weekly plans only',
    ]);
    expect(issues([{ key: 'l1', site: 's', asset: 'a', template: 'elevator', team: 'lifts', startsOn: '2026-03-02' }])[0]).toMatch(/^plans\.0\.template: /);
  });
});
