import { z } from 'zod';
import { idSchema } from '../ids.js';
import { timestampMsSchema } from './reading.js';

export const deviceDescriptorSchema = z.object({
  id: idSchema,
  /** what the device is: meter, access_panel, camera */
  kind: z.enum(['meter', 'access_panel', 'camera']),
  /** driver scheme, e.g. modbus+tcp */
  driver: z.string().max(32),
  /** device profile id for meters, e.g. eastron-sdm120 */
  profile: z.string().max(64).optional(),
  name: z.string().max(128).optional(),
});

export type DeviceDescriptor = z.infer<typeof deviceDescriptorSchema>;

export const streamStateSchema = z.object({
  /** next sequence number the journal will use */
  nextSeq: z.number().int().nonnegative(),
  /** every entry up to this sequence number has been acknowledged by the broker */
  ackedThrough: z.number().int().nonnegative(),
  /** entries and items (readings or events) waiting to be delivered */
  backlogEntries: z.number().int().nonnegative(),
  backlogItems: z.number().int().nonnegative(),
  /** when the oldest waiting entry was written, epoch ms */
  oldestPendingTs: timestampMsSchema.nullable(),
  /** items delivered per second, recently */
  drainPerSecond: z.number().nonnegative(),
  /** bytes the journal takes on disk */
  bytes: z.number().int().nonnegative(),
  /** true while the journal stays over its disk budget even after compaction (events are never dropped) */
  overBudget: z.boolean().optional(),
});

export type StreamState = z.infer<typeof streamStateSchema>;

/**
 * Published retained on `gh/v1/{site}/{gateway}/state`: `online` (birth) when the gateway connects and
 * `offline` (death) as its MQTT last will, or when it stops cleanly.
 */
export const gatewayStateSchema = z.object({
  v: z.literal(1),
  status: z.enum(['online', 'offline']),
  /** when the message was composed; for a last will that is the time of the connect that armed it */
  ts: timestampMsSchema,
  /** gateway software version */
  version: z.string().max(32).optional(),
  /** the devices this gateway serves; sent with the birth */
  devices: z.array(deviceDescriptorSchema).max(10_000).optional(),
  /** the gateway's journals: what has been delivered and what waits (updated while online) */
  streams: z
    .object({
      telemetry: streamStateSchema,
      events: streamStateSchema,
    })
    .optional(),
});

export type GatewayState = z.infer<typeof gatewayStateSchema>;
