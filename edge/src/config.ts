import { z } from 'zod';
import { idSchema, loadConfigFile } from '@gatehouse/contracts';

const modbusTcpDeviceSchema = z
  .object({
    id: idSchema,
    name: z.string().max(128).optional(),
    driver: z.literal('modbus+tcp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(502),
    unitId: z.number().int().min(0).max(255).default(1),
    /** id of a device profile (built in, or from `profileDirs`) */
    profile: z.string().min(1),
    intervalMs: z.number().int().min(100).default(15_000),
  })
  .strict();

export const deviceConfigSchema = z.discriminatedUnion('driver', [modbusTcpDeviceSchema]);
export type DeviceConfig = z.output<typeof deviceConfigSchema>;

export const gatewayConfigSchema = z
  .object({
    site: idSchema,
    gateway: idSchema,
    mqtt: z
      .object({
        /** mqtt://host:port or mqtts://host:port */
        url: z.string().regex(/^mqtts?:\/\/[^/]+/, 'expected mqtt://host:port or mqtts://host:port'),
        username: z.string().optional(),
        password: z.string().optional(),
        /** defaults to gh-{site}-{gateway} */
        clientId: z.string().optional(),
        keepaliveSeconds: z.number().int().min(5).max(600).default(30),
      })
      .strict(),
    uplink: z
      .object({
        /** how often readings are gathered into a batch and published */
        batchIntervalMs: z.number().int().min(10).default(1000),
        maxBatchReadings: z.number().int().min(1).max(5000).default(1000),
        /** batches published but not yet acknowledged */
        maxInFlightBatches: z.number().int().min(1).max(1000).default(16),
        /** readings held in memory while the broker is unreachable; the oldest go beyond this */
        maxQueuedReadings: z.number().int().min(1000).default(1_000_000),
      })
      .strict()
      .default({ batchIntervalMs: 1000, maxBatchReadings: 1000, maxInFlightBatches: 16, maxQueuedReadings: 1_000_000 }),
    modbus: z
      .object({
        timeoutMs: z.number().int().min(50).default(1000),
        reconnectDelayMs: z.number().int().min(0).default(5000),
        /** unwanted registers a merged read may bridge */
        maxGap: z.number().int().min(0).max(124).default(16),
      })
      .strict()
      .default({ timeoutMs: 1000, reconnectDelayMs: 5000, maxGap: 16 }),
    /** /metrics and /health; port 0 picks a free port */
    http: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(9101) })
      .strict()
      .default({ host: '127.0.0.1', port: 9101 }),
    /** extra directories of device profiles (YAML), searched after the built-in ones */
    profileDirs: z.array(z.string()).default([]),
    devices: z.array(deviceConfigSchema).min(1),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.devices.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device id "${d.id}" is used twice` });
      seen.add(d.id);
    });
  });

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

export function loadGatewayConfig(file: string): GatewayConfig {
  return loadConfigFile(file, gatewayConfigSchema);
}
