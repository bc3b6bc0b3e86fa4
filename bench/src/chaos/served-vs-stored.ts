/** One served value, as the simulated meter put it on the wire. */
export interface ServedValue {
  ts: number;
  value: number;
}

export interface StoredValue {
  ts: number;
  value: number | null;
}

export interface Comparison {
  served: number;
  stored: number;
  matched: number;
  /** served values missing from storage, read in the last moments before a gateway was killed */
  missingInCrashWindows: number;
  /** served values missing from storage anywhere else: loss */
  missingElsewhere: number;
  /** stored good values that no meter served (or served in another order): corruption or duplication */
  unexpected: number;
  /** sum of matched values per device, served side and stored side */
  checksumServed: Record<string, number>;
  checksumStored: Record<string, number>;
  examples: string[];
}

/** Simulator and gateway run on one machine, one clock. */
const CLOCK_TOLERANCE_MS = 5;
/** The longest a served answer can take to reach the gateway (its Modbus timeout, with margin). */
const MAX_ANSWER_DELAY_MS = 2000;

/**
 * Walks, per series (device/metric), what the meter served and what was stored, in time order. Every
 * served value must be stored, exactly equal and stamped just after it was served, except values
 * served within a crash window (the gateway was killed before it could journal them). Anything stored
 * that was not served is unexpected. Timestamps keep repeated values (an export register at 0) apart.
 */
export function compareServedWithStored(
  served: Map<string, ServedValue[]>,
  stored: Map<string, StoredValue[]>,
  crashWindows: { from: number; to: number }[],
): Comparison {
  const inWindow = (ts: number) => crashWindows.some((w) => ts >= w.from && ts <= w.to);
  const result: Comparison = { served: 0, stored: 0, matched: 0, missingInCrashWindows: 0, missingElsewhere: 0, unexpected: 0, checksumServed: {}, checksumStored: {}, examples: [] };
  const keys = new Set([...served.keys(), ...stored.keys()]);
  for (const key of keys) {
    const device = key.split('/')[0] ?? key;
    const s = served.get(key) ?? [];
    const t = (stored.get(key) ?? []).filter((v) => v.value !== null);
    result.served += s.length;
    result.stored += t.length;
    let j = 0;
    for (const [i, item] of s.entries()) {
      // A device is polled once at a time: the answer to this read arrives before the next read is served.
      const nextServed = s[i + 1]?.ts ?? Number.POSITIVE_INFINITY;
      // Stored values stamped before this read was served cannot be its own: nobody served them.
      while (j < t.length && t[j]!.ts < item.ts - CLOCK_TOLERANCE_MS) {
        result.unexpected++;
        if (result.examples.length < 5) result.examples.push(`${key}: stored ${t[j]!.value} at ${new Date(t[j]!.ts).toISOString()} was never served`);
        j++;
      }
      // The gateway stamps a reading when the answer arrives: after the meter served it, within the timeout.
      const candidate = t[j];
      if (candidate && candidate.value === item.value && candidate.ts <= item.ts + MAX_ANSWER_DELAY_MS && candidate.ts < nextServed) {
        result.matched++;
        result.checksumServed[device] = (result.checksumServed[device] ?? 0) + item.value;
        result.checksumStored[device] = (result.checksumStored[device] ?? 0) + (t[j]!.value ?? 0);
        j++;
      } else if (inWindow(item.ts)) {
        result.missingInCrashWindows++;
      } else {
        result.missingElsewhere++;
        if (result.examples.length < 5) result.examples.push(`${key}: served ${item.value} at ${new Date(item.ts).toISOString()} not stored`);
      }
    }
    if (j < t.length) {
      result.unexpected += t.length - j;
      if (result.examples.length < 5) result.examples.push(`${key}: ${t.length - j} stored values after the last served one, e.g. ${t[j]!.value}`);
    }
  }
  return result;
}
