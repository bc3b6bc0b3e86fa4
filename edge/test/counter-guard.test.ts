import { describe, expect, it } from 'vitest';
import { CounterGuard } from '@gatehouse/edge';

const MIN = 60_000;

function run(guard: CounterGuard, values: number[], stepMs = MIN) {
  return values.map((v, i) => guard.check(v, Date.UTC(2026, 0, 1) + i * stepMs).quality);
}

describe('counter guard', () => {
  it('passes normal increases and flat periods', () => {
    expect(run(new CounterGuard({ maxIncreasePerHour: 100 }), [1000, 1001, 1001, 1002.5])).toEqual(['good', 'good', 'good', 'good']);
  });

  it('forgets a one-reading spike: the next reading carries on from before it', () => {
    const guard = new CounterGuard({ maxIncreasePerHour: 100 });
    expect(run(guard, [1000, 1001, 1_001_001, 1002, 1003])).toEqual(['good', 'good', 'counter_jump', 'good', 'good']);
  });

  it('forgets a one-reading drop to zero, as some meters serve after a brown-out', () => {
    expect(run(new CounterGuard({ maxIncreasePerHour: 100 }), [1000, 0, 1001])).toEqual(['good', 'counter_negative_step', 'good']);
  });

  it('recognises a meter reset or replacement once the new level holds', () => {
    const guard = new CounterGuard({ maxIncreasePerHour: 100 });
    const verdicts = [1000, 1001].map((v, i) => guard.check(v, i * MIN));
    verdicts.push(guard.check(0.2, 2 * MIN), guard.check(0.5, 3 * MIN), guard.check(0.9, 4 * MIN));
    expect(verdicts.map((v) => v.quality)).toEqual(['good', 'good', 'counter_negative_step', 'counter_reset', 'good']);
    expect(verdicts[3]?.detail).toBe('counter restarted from a new level: was 1001, now 0.5 (meter reset or replaced)');
  });

  it('recognises a wrap at the register limit', () => {
    const guard = new CounterGuard({ rolloverAt: 100_000, maxIncreasePerHour: 1000 });
    expect(run(guard, [99_990, 99_999, 5, 12])).toEqual(['good', 'good', 'counter_rollover', 'good']);
  });

  it('without a rate limit, cannot tell a jump, but still catches steps back', () => {
    expect(run(new CounterGuard({}), [10, 1e9, 5])).toEqual(['good', 'good', 'counter_negative_step']);
  });

  it('allows the rate over the elapsed time, with slack for clock jitter', () => {
    const guard = new CounterGuard({ maxIncreasePerHour: 60 });
    // 60 per hour = 1 per minute; 1.4 in a minute is within the 1.5x slack, 3 is not.
    expect(run(guard, [0, 1.4, 4.4])).toEqual(['good', 'good', 'counter_jump']);
  });
});
