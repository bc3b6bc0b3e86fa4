import { z } from 'zod';
import { idSchema, loadConfigFile } from '@gatehouse/contracts';

const storageSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('pglite'),
      /** directory of the embedded database; omit for a throw-away in-memory database */
      dataDir: z.string().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('postgres'),
      /** e.g. postgres://gatehouse@127.0.0.1:5432/gatehouse */
      connectionString: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection string'),
      maxConnections: z.number().int().min(1).max(100).default(10),
    })
    .strict(),
]);

export const cloudConfigSchema = z
  .object({
    http: z
      .object({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) })
      .strict()
      .default({ host: '0.0.0.0', port: 8080 }),
    mqtt: z
      .object({
        /** broker url; defaults to the embedded broker when that is enabled */
        url: z.string().regex(/^mqtts?:\/\/[^/]+/, 'expected mqtt://host:port or mqtts://host:port'),
        username: z.string().optional(),
        password: z.string().optional(),
        clientId: z.string().min(1).max(128).default('gh-cloud-1'),
        /** MQTT 5 shared-subscription group, for several cloud instances splitting the stream */
        sharedGroup: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
        /** TLS (mqtts://): PEM files; rejectUnauthorized false only for testing */
        tls: z
          .object({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional(), rejectUnauthorized: z.boolean().default(true) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    storage: storageSchema,
    /** finding entries gateways delivered that were never stored, and asking for them again */
    delivery: z
      .object({
        gapCheckMs: z.number().int().min(100).default(15_000),
        gapGraceMs: z.number().int().min(0).default(30_000),
        resendEveryMs: z.number().int().min(1000).default(60_000),
      })
      .strict()
      .default({ gapCheckMs: 15_000, gapGraceMs: 30_000, resendEveryMs: 60_000 }),
    /**
     * MQTT accounts: the cloud's and one per gateway, each gateway limited to its own topics. Used by
     * the embedded broker, and by `gatehouse broker mosquitto` to write Mosquitto's password and ACL files.
     */
    brokerAccounts: z
      .object({
        cloud: z.object({ username: z.string().min(1), password: z.string().min(8, 'expected a password of at least 8 characters') }).strict(),
        gateways: z.array(
          z
            .object({ site: idSchema, gateway: idSchema, username: z.string().min(1), password: z.string().min(8, 'expected a password of at least 8 characters') })
            .strict(),
        ),
      })
      .strict()
      .optional(),
    /** run an embedded MQTT broker in this process (site in a box); gateways connect to it */
    embeddedBroker: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535),
        /** serve MQTT over TLS with this certificate and key (PEM files) */
        tls: z.object({ certFile: z.string(), keyFile: z.string() }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => c.mqtt !== undefined || c.embeddedBroker !== undefined, {
    path: ['mqtt'],
    message: 'expected an mqtt section (broker url), unless embeddedBroker is set',
  });

export type CloudConfig = z.output<typeof cloudConfigSchema>;
export type CloudConfigInput = z.input<typeof cloudConfigSchema>;

export function loadCloudConfig(file: string): CloudConfig {
  return loadConfigFile(file, cloudConfigSchema);
}
