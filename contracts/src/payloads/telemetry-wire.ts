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

export interface BatchHeader {
  seq: number;
  lastSeq: number;
  sentAt: number;
  historical: boolean;
}

function batchPayload(field: 'readings' | 'events', header: BatchHeader, fragments: readonly (string | Buffer)[]): Buffer {
  const head = `{"v":1,"seq":${header.seq},"lastSeq":${header.lastSeq},"sentAt":${header.sentAt},"historical":${header.historical},"${field}":[`;
  const parts: Buffer[] = [Buffer.from(head)];
  fragments.forEach((f, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(typeof f === 'string' ? Buffer.from(f) : f);
  });
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

/** A telemetry batch payload from fragments made by `serializeReadings`. */
export function telemetryPayload(header: BatchHeader, fragments: readonly (string | Buffer)[]): Buffer {
  return batchPayload('readings', header, fragments);
}

/** An event batch payload from events serialised one by one (`JSON.stringify(event)`). */
export function eventBatchPayload(header: BatchHeader, events: readonly (string | Buffer)[]): Buffer {
  return batchPayload('events', header, events);
}
