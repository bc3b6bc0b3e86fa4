import type { Quality } from '@gatehouse/contracts';

export interface CounterLimits {
  /** the engineering value at which the register wraps to zero */
  rolloverAt?: number;
  /** the largest believable increase per hour */
  maxIncreasePerHour?: number;
}

export interface CounterVerdict {
  quality: Extract<Quality, 'good' | 'counter_reset' | 'counter_rollover' | 'counter_negative_step' | 'counter_jump'>;
  detail?: string;
}

interface Sample {
  value: number;
  ts: number;
}

/** Float registers round; a step back smaller than this is noise, not a negative step. */
const EPSILON = 1e-6;

/**
 * Watches one cumulative counter (energy, volume) so that only believable increases count as
 * consumption. Readings are judged against the last trusted value (the baseline):
 *
 * - a normal increase is `good` and becomes the baseline;
 * - a wrap from near `rolloverAt` to near zero is `counter_rollover` and becomes the baseline;
 * - a step back or an increase faster than `maxIncreasePerHour` is not trusted
 *   (`counter_negative_step` / `counter_jump`). If the next reading carries on from the old baseline,
 *   it was a glitch and is forgotten; if it carries on from the new level instead, the meter was reset
 *   or replaced: that reading is `counter_reset` and starts a new baseline.
 *
 * Consumption downstream is the sum of steps into `good` readings from the previous good, reset or
 * rollover reading, so no glitch and no meter swap ever shows up as consumption.
 */
export class CounterGuard {
  private baseline: Sample | undefined;
  private suspect: Sample | undefined;

  constructor(private readonly limits: CounterLimits) {}

  /** The last trusted value, to keep across a gateway restart. */
  get lastTrusted(): { value: number; ts: number } | undefined {
    return this.baseline ? { ...this.baseline } : undefined;
  }

  /** Resumes from a value trusted before a restart, so a meter swapped meanwhile is still noticed. */
  resumeFrom(trusted: { value: number; ts: number }): void {
    this.baseline ??= { ...trusted };
  }

  check(value: number, ts: number): CounterVerdict {
    const sample = { value, ts };
    if (!this.baseline) {
      this.baseline = sample;
      return { quality: 'good' };
    }
    const verdict = this.judge(this.baseline, sample);
    if (verdict.quality === 'good' || verdict.quality === 'counter_rollover') {
      this.baseline = sample;
      this.suspect = undefined;
      return verdict;
    }
    if (this.suspect && this.judge(this.suspect, sample).quality === 'good') {
      const from = this.baseline.value;
      this.baseline = sample;
      this.suspect = undefined;
      return { quality: 'counter_reset', detail: `counter restarted from a new level: was ${from}, now ${value} (meter reset or replaced)` };
    }
    this.suspect = sample;
    return verdict;
  }

  private judge(from: Sample, to: Sample): CounterVerdict {
    const step = to.value - from.value;
    if (step < -EPSILON * Math.max(1, Math.abs(from.value))) {
      const { rolloverAt } = this.limits;
      if (rolloverAt !== undefined && from.value > 0.9 * rolloverAt && to.value < 0.1 * rolloverAt) {
        return { quality: 'counter_rollover', detail: `counter wrapped at ${rolloverAt}: ${from.value} → ${to.value}` };
      }
      return { quality: 'counter_negative_step', detail: `counter went back from ${from.value} to ${to.value}` };
    }
    const { maxIncreasePerHour } = this.limits;
    if (maxIncreasePerHour !== undefined) {
      const hours = Math.max(to.ts - from.ts, 1000) / 3_600_000;
      // A little slack for the clock: the device's register and our timestamp are not taken at one instant.
      if (step > maxIncreasePerHour * hours * 1.5 + EPSILON) {
        return { quality: 'counter_jump', detail: `counter rose by ${step.toFixed(3)} in ${(hours * 3600).toFixed(1)} s, more than ${maxIncreasePerHour} per hour allows` };
      }
    }
    return { quality: 'good' };
  }
}
