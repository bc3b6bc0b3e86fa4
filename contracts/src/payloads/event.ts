import { z } from 'zod';
import { idSchema } from '../ids.js';
import { timestampMsSchema } from './reading.js';

/** Normalised event types, whatever protocol the device speaks. */
export const EVENT_TYPES = [
  'access_granted',
  'access_denied',
  'door_forced_open',
  'door_held_open',
  'door_opened',
  'door_closed',
  'exit_button',
  'tamper',
  'duress',
  'motion',
  'device_offline',
  'device_online',
  'device_fault',
] as const;

export const eventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof eventTypeSchema>;

export const attachmentSchema = z.object({
  /** the camera (device id) that took it */
  camera: idSchema,
  contentType: z.enum(['image/jpeg', 'image/png']),
  /** when the image was taken, epoch ms */
  ts: timestampMsSchema,
  dataBase64: z.string().max(2_000_000),
});

export type Attachment = z.infer<typeof attachmentSchema>;

export const deviceEventSchema = z.object({
  /** unique per gateway; the cloud stores an event once per (gateway, id) */
  id: z.string().min(1).max(64),
  device: idSchema,
  type: eventTypeSchema,
  ts: timestampMsSchema,
  /** door or reader point on a panel, when the device has several */
  point: z.string().max(64).optional(),
  /** masked credential, e.g. card number with all but the last 4 digits hidden */
  credential: z.string().max(64).optional(),
  reason: z.string().max(256).optional(),
  attachments: z.array(attachmentSchema).max(8).optional(),
});

export type DeviceEvent = z.infer<typeof deviceEventSchema>;

/** A batch of events published on `gh/v1/{site}/{gateway}/events`. */
export const eventBatchSchema = z.object({
  v: z.literal(1),
  /** journal sequence numbers of the first and last event in the batch (the events journal has its own numbering) */
  seq: z.number().int().nonnegative(),
  lastSeq: z.number().int().nonnegative(),
  sentAt: timestampMsSchema,
  historical: z.boolean().default(false),
  events: z.array(deviceEventSchema).min(1).max(500),
}).refine((b) => b.lastSeq >= b.seq, { path: ['lastSeq'], message: 'expected lastSeq >= seq' });

export type EventBatch = z.infer<typeof eventBatchSchema>;

/**
 * What the ingest reads first: a batch whose events are checked one by one afterwards, so that one
 * malformed event is set aside with its reason and the others of its batch are stored.
 */
export const eventEnvelopeSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().nonnegative(),
  lastSeq: z.number().int().nonnegative(),
  sentAt: timestampMsSchema,
  historical: z.boolean().default(false),
  events: z.array(z.unknown()).min(1).max(500),
}).refine((b) => b.lastSeq >= b.seq, { path: ['lastSeq'], message: 'expected lastSeq >= seq' });

export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;
