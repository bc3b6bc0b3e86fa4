import { describe, expect, it } from 'vitest';
import { compareForcedWithStored } from '../../bench/src/chaos/forced-door.js';

const T = Date.UTC(2026, 0, 1);
const at = (...ms: number[]) => ms.map((m) => T + m);

describe('comparing forced door openings with stored door_forced_open events', () => {
  it('matches each opening with the first event stamped after it and before the next opening', () => {
    const r = compareForcedWithStored(at(0, 3000, 6000), at(52, 3049, 6101), []);
    expect(r).toMatchObject({ produced: 3, stored: 3, matched: 3, missingInCrashWindows: 0, missingElsewhere: 0, reportedLate: 0, unexpected: 0 });
  });

  it('tells an opening missed around a gateway kill from one lost elsewhere', () => {
    // The gateway was down from 2500 to 4000: the opening at 3000 was never seen; the one at 9000 is lost.
    const r = compareForcedWithStored(at(0, 3000, 6000, 9000), at(50, 6050), [{ from: T + 1000, to: T + 6000 }]);
    expect(r).toMatchObject({ matched: 2, missingInCrashWindows: 1, missingElsewhere: 1, unexpected: 0 });
    expect(r.examples).toHaveLength(1);
  });

  it('accepts an event reported late by a restarted gateway, and flags events no opening explains', () => {
    // The opening at 3000 was queued by the reader while the gateway was down, and reported at 6020,
    // after the opening at 6000 (whose own event follows); the event at 7000 is one too many.
    const late = compareForcedWithStored(at(0, 3000, 6000), at(50, 6020, 6040), [{ from: T + 2000, to: T + 6500 }]);
    expect(late).toMatchObject({ matched: 2, missingInCrashWindows: 1, reportedLate: 1, unexpected: 0 });
    const twice = compareForcedWithStored(at(0, 3000), at(50, 3050, 3060), []);
    expect(twice).toMatchObject({ matched: 2, unexpected: 1 });
  });
});
