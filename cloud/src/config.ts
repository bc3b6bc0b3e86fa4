import { z } from 'zod';
import { tariffSchema } from './detection/tariff.js';
import { detectionConfigSchema } from './detection/detection-config.js';
import { idSchema, loadConfigFile } from '@gatehouse/contracts';
import { isValidTimeZone } from './storage/rollups/site-calendar.js';
import { alarmsConfigSchema } from './alarms/alarm-config.js';
import { workOrdersConfigSchema } from './workorders/work-order-config.js';
import { isoDateSchema } from './workorders/plan-schedule.js';

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
      /** TimescaleDB (docs/storage.md): readings in a compressed hypertable when the extension is there */
      timescale: z
        .object({
          /** auto: when the extension is installed or can be created; require: refuse to start without; never */
          use: z.enum(['auto', 'require', 'never']).default('auto'),
          /** days of readings per chunk */
          chunkDays: z.number().int().min(1).max(365).default(7),
          /** compress chunks older than this many days; null: no compression */
          compressAfterDays: z.number().int().min(1).max(3650).nullable().default(7),
        })
        .strict()
        .prefault({}),
    })
    .strict(),
]);

const timeSeriesSchema = z
  .object({
    kind: z.literal('influxdb'),
    /** e.g. http://127.0.0.1:8086 */
    url: z.string().regex(/^https?:\/\/[^/]+/, 'expected http://host:port'),
    database: z.string().regex(/^[A-Za-z0-9_-]+$/).default('gatehouse'),
    username: z.string().optional(),
    password: z.string().optional(),
  })
  .strict();

/** Days to keep each resolution; omitted: forever. Raw readings usually go long before the rollups. */
const retentionSchema = z
  .object({
    rawDays: z.number().int().min(1).optional(),
    rollup15mDays: z.number().int().min(1).optional(),
    rollup1hDays: z.number().int().min(1).optional(),
    rollup1dDays: z.number().int().min(1).optional(),
    rollup1moDays: z.number().int().min(1).optional(),
    /** how often the retention job runs */
    checkEveryMs: z.number().int().min(1000).default(3_600_000),
  })
  .strict();

export const cloudConfigSchema = z
  .object({
    http: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        /**
         * behind a reverse proxy: its address(es) or CIDR ("127.0.0.1", "10.0.0.0/8, 10.1.2.3") or how many
         * proxies stand in front (1); X-Forwarded-For / -Proto are believed from those only (client address
         * for lockouts, https for cookies). Never "every hop": a client could then claim any address.
         */
        trustProxy: z.union([z.literal(false), z.string().min(1), z.number().int().min(1).max(10)]).default(false),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 8080, trustProxy: false }),
    mqtt: z
      .object({
        /** broker url; defaults to the embedded broker when that is enabled */
        url: z.string().regex(/^mqtts?:\/\/[^/]+/, 'expected mqtt://host:port or mqtts://host:port'),
        username: z.string().optional(),
        password: z.string().optional(),
        clientId: z.string().min(1).max(128).default('gh-cloud-1'),
        /** MQTT 5 shared-subscription group, for several cloud instances splitting the stream */
        sharedGroup: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
        /**
         * connections per stream (live, replay) in the shared group: each stores one message at a time,
         * so a replay is stored as many batches at once as there are connections
         */
        ingestConnections: z.number().int().min(1).max(16).default(1),
        /** TLS (mqtts://): PEM files; rejectUnauthorized false only for testing */
        tls: z
          .object({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional(), rejectUnauthorized: z.boolean().default(true) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /** the relational database (sites, devices, events, …); it also holds the readings unless timeSeries is set */
    storage: storageSchema,
    /** keep readings in InfluxDB 1.x instead of the relational database */
    timeSeries: timeSeriesSchema.optional(),
    retention: retentionSchema.default({ checkEveryMs: 3_600_000 }),
    /** how often the 15-minute, hourly, daily and monthly rollups catch up with what was written */
    rollups: z.object({ refreshEveryMs: z.number().int().min(100).default(5_000) }).strict().default({ refreshEveryMs: 5_000 }),
    /** sites declared up front, with the time zone their days and months are counted in */
    sites: z
      .array(
        z
          .object({
            id: idSchema,
            name: z.string().max(128).optional(),
            timeZone: z.string().refine(isValidTimeZone, 'expected an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
            buildings: z.array(z.object({ id: idSchema, name: z.string().max(128).optional() }).strict()).default([]),
            /** what facilities look after; `devices` are the ids of the devices that measure or serve it */
            assets: z
              .array(
                z
                  .object({
                    id: idSchema,
                    name: z.string().max(128).optional(),
                    kind: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'expected a snake_case kind such as main_incomer, pump, ahu, door'),
                    building: idSchema.optional(),
                    devices: z.array(idSchema).default([]),
                    // The equipment ledger's details: they seed it; edits in the console are kept.
                    make: z.string().min(1).max(128).optional(),
                    model: z.string().min(1).max(128).optional(),
                    serialNo: z.string().min(1).max(128).optional(),
                    installedOn: isoDateSchema.optional(),
                    warrantyUntil: isoDateSchema.optional(),
                    location: z.string().min(1).max(200).optional(),
                  })
                  .strict(),
              )
              .default([]),
            /** what a kWh and a m³ cost here (CNY), electricity optionally by time of use (峰/平/谷) */
            tariff: tariffSchema.optional(),
            /** main meters and the sub-meters they feed (device ids): the detectors check one against the others */
            subMeters: z.record(idSchema, z.array(idSchema).min(1)).default({}),
          })
          .strict()
          .superRefine((site, ctx) => {
            const buildings = new Set(site.buildings.map((b) => b.id));
            site.assets.forEach((asset, i) => {
              if (asset.building !== undefined && !buildings.has(asset.building)) {
                ctx.addIssue({ code: 'custom', path: ['assets', i, 'building'], message: `no building "${asset.building}" in this site's buildings` });
              }
            });
          }),
      )
      .default([]),
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
    /** accounts: console sessions, lockouts, who may read /metrics */
    auth: z
      .object({
        /** a console session unused for this long ends */
        sessionIdleMinutes: z.number().int().min(5).max(7 * 24 * 60).default(12 * 60),
        /** every session ends this long after its login */
        sessionMaxHours: z.number().int().min(1).max(24 * 30).default(24),
        /** Secure cookies: auto = when the request came over https (set http.trustProxy behind a TLS proxy) */
        secureCookies: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        /** /metrics answers clients on this machine without a token */
        metricsFromLoopback: z.boolean().default(true),
        /** failed logins to one account from one address before that pair is locked for lockoutMinutes */
        maxFailuresPerAccount: z.number().int().min(1).max(100).default(5),
        /** failed logins from one address, whatever the accounts, before the address is refused */
        maxFailuresPerAddress: z.number().int().min(1).max(1000).default(20),
        lockoutMinutes: z.number().int().min(1).max(24 * 60).default(15),
      })
      .strict()
      .default({ sessionIdleMinutes: 720, sessionMaxHours: 24, secureCookies: 'auto', metricsFromLoopback: true, maxFailuresPerAccount: 5, maxFailuresPerAddress: 20, lockoutMinutes: 15 }),
    /** energy anomaly detection on the rollups (docs/energy-detection.md) */
    detection: detectionConfigSchema.prefault({}),
    /** alarms for guards: priorities, health thresholds, escalation by webhook and e-mail */
    alarms: alarmsConfigSchema.prefault({}),
    /** maintenance work orders: teams, the rules that raise orders from findings and faults, SLA (docs/work-orders.md) */
    workOrders: workOrdersConfigSchema.prefault({}),
    /** the web console's built files (console/dist); omitted: the one beside this package */
    console: z.object({ dir: z.string().optional() }).strict().default({}),
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
  })
  .refine((c) => (c.mqtt?.ingestConnections ?? 1) === 1 || c.mqtt?.sharedGroup !== undefined, {
    path: ['mqtt', 'ingestConnections'],
    message: 'more than one ingest connection needs mqtt.sharedGroup (MQTT 5 shared subscriptions share the messages out between them)',
  })
  .superRefine((c, ctx) => {
    // Work-order e-mails go through the alarms' mail server: one smtp section for the whole cloud.
    c.workOrders.teams.forEach((team, i) => {
      if (team.email.length > 0 && c.alarms.smtp === undefined) {
        ctx.addIssue({ code: 'custom', path: ['workOrders', 'teams', i, 'email'], message: `team "${team.id}" has e-mail addresses: that needs alarms.smtp (the mail server)` });
      }
    });
    // A declared plan keeps a declared asset: both come from this file.
    c.workOrders.plans.forEach((plan, i) => {
      const site = c.sites.find((s) => s.id === plan.site);
      if (!site) ctx.addIssue({ code: 'custom', path: ['workOrders', 'plans', i, 'site'], message: `no site "${plan.site}" in sites` });
      else if (!site.assets.some((a) => a.id === plan.asset)) {
        ctx.addIssue({ code: 'custom', path: ['workOrders', 'plans', i, 'asset'], message: `no asset "${plan.asset}" in the assets of site ${plan.site}` });
      }
    });
  });

export type CloudConfig = z.output<typeof cloudConfigSchema>;
export type CloudConfigInput = z.input<typeof cloudConfigSchema>;

export function loadCloudConfig(file: string): CloudConfig {
  return loadConfigFile(file, cloudConfigSchema);
}
