import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dayNumber, REST_DAY, SATURDAY, SlotClock, WORKDAY, WorkCalendar } from '../../src/detection/index.js';

describe('the working calendar', () => {
  const cn = WorkCalendar.china();

  it("knows China's holidays and make-up working days from the State Council's notices", () => {
    // 2025: Spring Festival 28 Jan – 4 Feb, Sunday 26 Jan and Saturday 8 Feb worked.
    expect(cn.kindOf(dayNumber('2025-01-26'))).toBe(WORKDAY);
    expect(cn.kindOf(dayNumber('2025-01-29'))).toBe(REST_DAY);
    expect(cn.holidayOf(dayNumber('2025-01-29'))).toContain('春节');
    expect(cn.kindOf(dayNumber('2025-02-08'))).toBe(WORKDAY);
    expect(cn.kindOf(dayNumber('2025-02-05'))).toBe(WORKDAY);
    // 2026: New Year 1–3 Jan with Sunday 4 Jan worked; National Day 1–7 Oct, Saturday 10 Oct worked.
    expect(cn.kindOf(dayNumber('2026-01-02'))).toBe(REST_DAY);
    expect(cn.kindOf(dayNumber('2026-01-04'))).toBe(WORKDAY);
    expect(cn.kindOf(dayNumber('2026-10-07'))).toBe(REST_DAY);
    expect(cn.kindOf(dayNumber('2026-10-10'))).toBe(WORKDAY);
    // 2024: Labour Day 1–5 May, Saturday 11 May worked.
    expect(cn.kindOf(dayNumber('2024-05-11'))).toBe(WORKDAY);
    // An ordinary Saturday and Sunday.
    expect(cn.kindOf(dayNumber('2025-03-15'))).toBe(SATURDAY);
    expect(cn.kindOf(dayNumber('2025-03-16'))).toBe(REST_DAY);
    // 2027: the statutory days are built in.
    expect(cn.kindOf(dayNumber('2027-02-08'))).toBe(REST_DAY);
  });

  it('takes closures, holidays and make-up days from a file, and names what is wrong in a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-calendar-'));
    const file = join(dir, 'site.yaml');
    writeFileSync(file, "base: cn\nclosures: ['2025-03-10..2025-03-12']\nworkdays: ['2025-03-16']\n");
    const calendar = WorkCalendar.load(file);
    expect(calendar.kindOf(dayNumber('2025-03-11'))).toBe(REST_DAY);
    expect(calendar.holidayOf(dayNumber('2025-03-11'))).toBe('site closed');
    expect(calendar.kindOf(dayNumber('2025-03-16'))).toBe(WORKDAY);
    expect(calendar.kindOf(dayNumber('2025-01-29'))).toBe(REST_DAY); // still China's calendar underneath

    writeFileSync(file, "closures: ['2025-03-12..2025-03-10']\n");
    expect(() => WorkCalendar.load(file)).toThrow(/closures entry "2025-03-12..2025-03-10" is not a date or a range/);
    writeFileSync(file, 'holiday: []\n');
    expect(() => WorkCalendar.load(file)).toThrow(/unknown key "holiday"/);
    expect(() => WorkCalendar.load(join(dir, 'missing.yaml'))).toThrow(/cannot read it \(ENOENT\)/);
    expect(WorkCalendar.load('none').kindOf(dayNumber('2025-01-29'))).toBe(WORKDAY);
  });

  it('gives each 15-minute slot its local hour and day kind', () => {
    // 2025-01-25T16:00Z is midnight of Sunday 26 January in Shanghai: a make-up working day.
    const clock = new SlotClock(Date.parse('2025-01-25T16:00:00Z'), 96 * 2, 'Asia/Shanghai', WorkCalendar.china());
    expect(clock.hour[0]).toBe(0);
    expect(clock.kind[0]).toBe(WORKDAY);
    expect(clock.hour[95]).toBe(23);
    expect(clock.midnights).toEqual([0, 96]);
  });
});
