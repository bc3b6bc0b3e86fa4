import type { Reading } from './reading.js';

/**
 * Telemetry batches built from pre-serialised readings. A gateway serialises each poll's readings once,
 * when they are produced, and joins the pieces when it publishes: no re-validation and no object copies
 * on the hot path. The result is exactly what `telemetryCodec` decodes (a test holds them together).
 */

/** The readings of one poll as a JSON fragment: the inside of an array, without brackets. */
export function serializeReadings(readings: readonly Reading[]): string {
  return JSON.stringify(readings).slice(1, -1);
}

export interface TelemetryHeader {
  seq: number;
  sentAt: number;
  historical: boolean;
}

/** A telemetry batch payload from fragments made by `serializeReadings`. */
export function telemetryPayload(header: TelemetryHeader, fragments: readonly string[]): Buffer {
  return Buffer.from(`{"v":1,"seq":${header.seq},"sentAt":${header.sentAt},"historical":${header.historical},"readings":[${fragments.join(',')}]}`);
}
