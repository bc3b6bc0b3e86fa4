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
  /** next sequence number the gateway will use; lets the cloud tell a restart from a gap */
  nextSeq: z.number().int().nonnegative().optional(),
});

export type GatewayState = z.infer<typeof gatewayStateSchema>;
