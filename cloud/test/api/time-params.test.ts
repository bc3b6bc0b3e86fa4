import { describe, expect, it } from 'vitest';
import { parseTimeParam } from '../../src/api/time-params.js';

const at = (text: string, zone = 'Asia/Shanghai') => {
  const parsed = parseTimeParam(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed.at(zone);
};

describe('parseTimeParam', () => {
  it('reads epoch milliseconds and ISO 8601 with an offset as the instant they name, wherever the site', () => {
    expect(at('1795717000380')).toBe(1_795_717_000_380);
    expect(at('0')).toBe(0);
    expect(at('2026-11-26T08:00:00+08:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 10, 26, 0));
    expect(at('2026-11-26T00:00:00.250Z')).toBe(Date.UTC(2026, 10, 26) + 250);
    expect(at('2026-11-26 05:30+0530')).toBe(Date.UTC(2026, 10, 26, 0));
  });

  it("reads a date, or a time without an offset, in the site's time zone", () => {
    expect(at('2026-11-26')).toBe(Date.UTC(2026, 10, 25, 16));
    expect(at('2026-11-26', 'Europe/Berlin')).toBe(Date.UTC(2026, 10, 25, 23));
    expect(at('2026-11-26T08:30')).toBe(Date.UTC(2026, 10, 26, 0, 30));
    // The day daylight saving time starts in Berlin: midnight is still 23:00 UTC the day before.
    expect(at('2026-03-29', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 28, 23));
  });

  it('refuses what is not ISO 8601 or epoch milliseconds, saying what was wrong', () => {
    for (const text of ['Dec 4', '4/12/2026', '-5', '2026-1-5', '2026-11-26T8:00', 'now', '', '1e12', '2026-11-26T08:00:00+08:00 ']) {
      expect(parseTimeParam(text), text).toMatch(/^expected an ISO 8601 time .* not "/);
    }
    expect(parseTimeParam('2026-02-30')).toMatch(/"2026-02-30" is not a date/);
    expect(parseTimeParam('2026-13-01')).toMatch(/is not a date/);
    expect(parseTimeParam('2026')).toMatch(/looks like a year/);
    expect(parseTimeParam('99999999999999999999')).toMatch(/out of range/);
    expect(parseTimeParam('1969-12-31T23:59:59Z')).toMatch(/out of range/);
  });
});
