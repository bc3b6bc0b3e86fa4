import { formatIssues, readingSchema, type Reading } from '@gatehouse/contracts';

export interface RejectedReading {
  index: number;
  /** short machine-readable reason, the label of the rejection metric */
  reason: 'invalid' | 'not_finite' | 'in_the_future';
  /** what was wrong, naming the field */
  detail: string;
  reading: unknown;
}

/**
 * Checks the readings of a batch one by one, so that one bad reading never costs the others: each is
 * validated against the contract, and its time may not be more than `maxFutureMs` ahead of the cloud's
 * clock (a gateway with a wrong clock would otherwise write into next year's rollups).
 */
export function screenReadings(readings: readonly unknown[], now: number, maxFutureMs: number): { accepted: Reading[]; rejected: RejectedReading[] } {
  const accepted: Reading[] = [];
  const rejected: RejectedReading[] = [];
  readings.forEach((reading, index) => {
    const parsed = readingSchema.safeParse(reading);
    if (!parsed.success) {
      const value = (reading as { value?: unknown } | null)?.value;
      // JSON cannot carry NaN; a value of 1e999 parses to Infinity.
      const notFinite = typeof value === 'number' && !Number.isFinite(value);
      rejected.push({
        index,
        reason: notFinite ? 'not_finite' : 'invalid',
        detail: formatIssues(parsed.error.issues, 3).map((p) => `readings[${index}].${p}`).join('; '),
        reading,
      });
      return;
    }
    if (parsed.data.ts > now + maxFutureMs) {
      rejected.push({
        index,
        reason: 'in_the_future',
        detail: `readings[${index}].ts: ${new Date(parsed.data.ts).toISOString()} is more than ${Math.round(maxFutureMs / 1000)} s ahead of the cloud's clock`,
        reading,
      });
      return;
    }
    accepted.push(parsed.data);
  });
  return { accepted, rejected };
}
