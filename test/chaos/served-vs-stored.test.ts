import { describe, expect, it } from 'vitest';
import { compareServedWithStored } from '../../bench/src/chaos/served-vs-stored.js';

const T = Date.UTC(2026, 0, 1);
const served = (pairs: [number, number][]) => pairs.map(([ts, value]) => ({ ts: T + ts, value }));
const stored = (pairs: [number, number | null][]) => pairs.map(([ts, value]) => ({ ts: T + ts, value }));

describe('comparing served with stored values', () => {
  it('matches every value exactly, in order', () => {
    const r = compareServedWithStored(new Map([['m1/p', served([[0, 1.5], [500, 2.5]])]]), new Map([['m1/p', stored([[3, 1.5], [504, 2.5]])]]), []);
    expect(r).toMatchObject({ served: 2, matched: 2, missingElsewhere: 0, unexpected: 0 });
  });

  it('tells a value lost in a crash window from one lost elsewhere, even among repeated values', () => {
    const s = new Map([['m1/export', served([[0, 0], [500, 0], [1000, 0], [1500, 0]])]]);
    // The read at 500 fell in a crash window; the one at 1500 is simply missing.
    const t = new Map([['m1/export', stored([[2, 0], [1003, 0]])]]);
    const r = compareServedWithStored(s, t, [{ from: T + 400, to: T + 600 }]);
    expect(r).toMatchObject({ matched: 2, missingInCrashWindows: 1, missingElsewhere: 1, unexpected: 0 });
  });

  it('flags stored values nobody served, and wrong values', () => {
    const r = compareServedWithStored(new Map([['m1/p', served([[100, 1]])]]), new Map([['m1/p', stored([[50, 9], [101, 2]])]]), []);
    expect(r.unexpected).toBe(2);
    expect(r.missingElsewhere).toBe(1);
  });
});
