import { z } from 'zod';
import { readingSchema, timestampMsSchema } from './reading.js';

/** Upper bound on readings in one batch; keeps a single MQTT message well under broker limits. */
export const MAX_READINGS_PER_BATCH = 5000;

/** The fields every batch starts with. */
const batchHeader = {
  v: z.literal(1),
  /** journal sequence number of the first entry in the batch (each poll of a device is one entry) */
  seq: z.number().int().nonnegative(),
  /** journal sequence number of the last entry in the batch; the batch holds every entry from seq to lastSeq */
  lastSeq: z.number().int().nonnegative(),
  /** when the gateway published the batch, epoch ms */
  sentAt: timestampMsSchema,
  /** true when the batch is replayed from the gateway's backlog after an outage */
  historical: z.boolean().default(false),
};
const seqInOrder = (b: { seq: number; lastSeq: number }) => b.lastSeq >= b.seq;
const seqOrderIssue = { path: ['lastSeq'], message: 'expected lastSeq >= seq' };

/**
 * A batch of readings published on `gh/v1/{site}/{gateway}/telemetry`. Site and gateway come from the
 * topic (the broker's ACL ties them to the gateway's credentials), so the payload does not repeat them.
 */
export const telemetryBatchSchema = z.object({ ...batchHeader, readings: z.array(readingSchema).min(1).max(MAX_READINGS_PER_BATCH) }).refine(seqInOrder, seqOrderIssue);

export type TelemetryBatch = z.infer<typeof telemetryBatchSchema>;
export type TelemetryBatchInput = z.input<typeof telemetryBatchSchema>;

/**
 * The same batch with its readings left unchecked, so that a receiver can check them one by one, store
 * the good ones and set the bad ones aside with their reasons.
 */
export const telemetryEnvelopeSchema = z.object({ ...batchHeader, readings: z.array(z.unknown()).min(1).max(MAX_READINGS_PER_BATCH) }).refine(seqInOrder, seqOrderIssue);

export type TelemetryEnvelope = z.infer<typeof telemetryEnvelopeSchema>;
