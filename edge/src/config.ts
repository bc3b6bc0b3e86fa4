import { z } from 'zod';
import { eventTypeSchema, idSchema, loadConfigFile, type EventType } from '@gatehouse/contracts';
import { isapiDeviceConfigSchema } from './drivers/isapi/isapi-config.js';
import { onvifCameraConfigSchema } from './drivers/onvif/onvif-config.js';
import { BUILT_IN_PROFILE_DIR, loadProfiles } from './drivers/modbus/profile.js';

/** Drivers of devices that control doors. */
const ACCESS_DRIVERS = new Set<string>(['osdp+tcp', 'osdp+serial', 'isapi']);

const counterLimitsSchema = z
  .object({
    rolloverAt: z.number().positive().optional(),
    maxIncreasePerHour: z.number().positive().optional(),
  })
  .strict();

/** What every Modbus device has, whatever carries its frames. */
const modbusDeviceFields = {
  id: idSchema,
  name: z.string().max(128).optional(),
  unitId: z.number().int().min(0).max(255).default(1),
  /** id of a device profile (built in, or from `profileDirs`) */
  profile: z.string().min(1),
  intervalMs: z.number().int().min(100).default(15_000),
  /** overrides modbus.timeoutMs for this device */
  timeoutMs: z.number().int().min(50).optional(),
  /** overrides modbus.retries for this device */
  retries: z.number().int().min(0).max(5).optional(),
  /** per counter metric: where it wraps, and the fastest believable increase (e.g. from the CT ratio) */
  counterLimits: z.record(z.string(), counterLimitsSchema).optional(),
  /** voltage / current transformer ratios (primary ÷ secondary), for meters that report secondary values */
  ratios: z.object({ pt: z.number().positive().default(1), ct: z.number().positive().default(1) }).strict().optional(),
};

const modbusTcpDeviceSchema = z
  .object({
    ...modbusDeviceFields,
    driver: z.literal('modbus+tcp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(502),
  })
  .strict();

/** RTU frames over TCP, as serial device servers in "transparent" mode carry them. */
const modbusRtuOverTcpDeviceSchema = z
  .object({
    ...modbusDeviceFields,
    driver: z.literal('modbus+rtu-over-tcp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
  })
  .strict();

const modbusRtuDeviceSchema = z
  .object({
    ...modbusDeviceFields,
    unitId: z.number().int().min(1).max(247).default(1),
    driver: z.literal('modbus+rtu'),
    /** serial port, e.g. /dev/ttyUSB0 */
    serialPort: z.string().min(1),
    baudRate: z.number().int().positive().default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();

/** A door: what the gateway, as the access controller, decides for it. */
const doorPolicySchema = z
  .object({
    /** how long the strike stays unlocked after a grant or the exit button */
    unlockMs: z.number().int().min(500).max(60_000).default(5000),
    /** how long the door may stay open after a legitimate opening */
    heldOpenMs: z.number().int().min(1000).default(30_000),
    /** enrolled cards: the raw card data as hex, as the reader reports it */
    cards: z.array(z.string().regex(/^[0-9A-Fa-f]{2,32}$/, 'expected the card data as hex, e.g. 12345640')).default([]),
    /** a PIN that opens the door and raises a silent duress alarm */
    duressPin: z.string().regex(/^[0-9]{4,8}$/, 'expected 4 to 8 digits').optional(),
    /** a PIN left half typed is forgotten after this long without a key */
    keypadTimeoutMs: z.number().int().min(1000).max(120_000).default(10_000),
  })
  .strict();

const aesKeySchema = z.string().regex(/^[0-9A-Fa-f]{32}$/, 'expected a 16-byte AES key as 32 hex digits');

/**
 * The OSDP secure channel to a peripheral: its own key (scbk), or the site's master key from which
 * each peripheral's key is derived with its client UID. `install` gives a factory-fresh peripheral
 * its key (it takes only SCBK-D until then): for commissioning, then turned off.
 */
const osdpSecureChannelSchema = z
  .object({
    scbk: aesKeySchema.optional(),
    masterKey: aesKeySchema.optional(),
    install: z.boolean().default(false),
  })
  .strict()
  .refine((s) => (s.scbk === undefined) !== (s.masterKey === undefined), { message: 'expected exactly one of scbk (the peripheral key) or masterKey (the site key it is derived from)' });

/** What every OSDP door has, whatever carries its frames. */
const osdpDeviceFields = {
    id: idSchema,
    name: z.string().max(128).optional(),
    /** the peripheral's OSDP address */
    address: z.number().int().min(0).max(126),
    /** CRC-16 (default) or the one-byte checksum of older readers */
    useCrc: z.boolean().default(true),
    pollIntervalMs: z.number().int().min(20).max(1000).default(50),
    replyTimeoutMs: z.number().int().min(20).max(2000).default(200),
    /** a peripheral silent this long is reported offline */
    offlineAfterMs: z.number().int().min(500).default(8000),
    door: doorPolicySchema.default({ unlockMs: 5000, heldOpenMs: 30_000, cards: [], keypadTimeoutMs: 10_000 }),
    /** absent: the line is not secured (card numbers travel in the clear) */
    secureChannel: osdpSecureChannelSchema.optional(),
};

/** An OSDP reader and door I/O on an RS-485 line behind a serial-to-Ethernet converter (or a simulator). */
const osdpTcpDeviceSchema = z
  .object({ ...osdpDeviceFields, driver: z.literal('osdp+tcp'), host: z.string().min(1), port: z.number().int().min(1).max(65535) })
  .strict();

/** An OSDP reader and door I/O on the gateway's own RS-485 port. */
const osdpSerialDeviceSchema = z
  .object({
    ...osdpDeviceFields,
    driver: z.literal('osdp+serial'),
    /** e.g. /dev/ttyUSB0 */
    serialPort: z.string().min(1),
    baudRate: z.union([z.literal(9600), z.literal(19200), z.literal(38400), z.literal(57600), z.literal(115200)]).default(9600),
  })
  .strict();

export const deviceConfigSchema = z.discriminatedUnion('driver', [
  modbusTcpDeviceSchema,
  modbusRtuOverTcpDeviceSchema,
  modbusRtuDeviceSchema,
  osdpTcpDeviceSchema,
  osdpSerialDeviceSchema,
  isapiDeviceConfigSchema,
  onvifCameraConfigSchema,
]);

/** The events that bring a picture from the cameras watching the door, unless a site says otherwise. */
export const DEFAULT_LINKED_EVENTS: EventType[] = ['door_forced_open', 'door_held_open', 'duress'];

/**
 * Video linkage: which cameras watch which door. On a linked event the gateway asks each camera for a
 * snapshot and sends the pictures with the event.
 */
const videoLinkageSchema = z
  .object({
    /** how long a snapshot may take before the event goes without that camera's picture */
    snapshotTimeoutMs: z.number().int().min(100).max(5000).default(1000),
    events: z.array(eventTypeSchema).min(1).default(DEFAULT_LINKED_EVENTS),
    links: z
      .array(
        z
          .object({
            /** the access device (OSDP reader, ISAPI panel) */
            device: idSchema,
            /** the door on a panel ('1', '2', …); absent: every door of the device */
            door: z.string().min(1).max(16).optional(),
            cameras: z.array(idSchema).min(1).max(8),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type ModbusDeviceConfig = z.output<typeof modbusTcpDeviceSchema> | z.output<typeof modbusRtuOverTcpDeviceSchema> | z.output<typeof modbusRtuDeviceSchema>;
export type OsdpDeviceConfig = z.output<typeof osdpTcpDeviceSchema> | z.output<typeof osdpSerialDeviceSchema>;
export type DeviceConfig = z.output<typeof deviceConfigSchema>;

const MODBUS_DEFAULTS = {
  timeoutMs: 1000,
  retries: 1,
  reconnectDelayMs: 5000,
  maxGap: 16,
  tcpConcurrency: 1,
  backoff: { initialMs: 10_000, maxMs: 300_000 },
  staleAfterPolls: 10,
};

export const gatewayConfigSchema = z
  .object({
    site: idSchema,
    gateway: idSchema,
    /** where the gateway keeps its journals */
    dataDir: z.string().min(1).default('./data/edge'),
    mqtt: z
      .object({
        /** mqtt://host:port or mqtts://host:port */
        url: z.string().regex(/^mqtts?:\/\/[^/]+/, 'expected mqtt://host:port or mqtts://host:port'),
        /** this gateway's own credentials (the broker's ACL ties them to its topics) */
        username: z.string().optional(),
        password: z.string().optional(),
        /** defaults to gh-{site}-{gateway} */
        clientId: z.string().optional(),
        keepaliveSeconds: z.number().int().min(5).max(600).default(30),
        /** TLS (mqtts://): PEM files; rejectUnauthorized false only for testing */
        tls: z
          .object({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional(), rejectUnauthorized: z.boolean().default(true) })
          .strict()
          .optional(),
      })
      .strict(),
    uplink: z
      .object({
        maxBatchReadings: z.number().int().min(1).max(5000).default(2000),
        /** batches published but not yet acknowledged */
        maxInFlightBatches: z.number().int().min(1).max(1000).default(16),
        /** how often the retained state message (with the backlog) is republished */
        statePeriodMs: z.number().int().min(1000).default(10_000),
      })
      .strict()
      .default({ maxBatchReadings: 2000, maxInFlightBatches: 16, statePeriodMs: 10_000 }),
    journal: z
      .object({
        /** always | interval | never: when written entries are forced to the disk (see the README) */
        fsync: z.enum(['always', 'interval', 'never']).default('interval'),
        fsyncIntervalMs: z.number().int().min(10).default(1000),
        groupCommitMs: z.number().int().min(1).max(1000).default(20),
        segmentBytes: z.number().int().min(64 * 1024).default(8 * 1024 * 1024),
        /** delivered entries kept on disk, so that the cloud can ask for them again if a broker lost them */
        retainDeliveredBytes: z.number().int().min(0).default(64 * 1024 * 1024),
        /** disk budget of each journal; over it, the oldest undelivered readings are compacted (events never) */
        maxBytes: z.number().int().min(64 * 1024).default(2 * 1024 * 1024 * 1024),
        /** interval readings are compacted into */
        compactionIntervalMs: z.number().int().min(1000).default(15 * 60_000),
      })
      .strict()
      .default({ fsync: 'interval', fsyncIntervalMs: 1000, groupCommitMs: 20, segmentBytes: 8 * 1024 * 1024, retainDeliveredBytes: 64 * 1024 * 1024, maxBytes: 2 * 1024 * 1024 * 1024, compactionIntervalMs: 15 * 60_000 }),
    modbus: z
      .object({
        timeoutMs: z.number().int().min(50).default(MODBUS_DEFAULTS.timeoutMs),
        /** extra attempts of a read that timed out, while the device is healthy */
        retries: z.number().int().min(0).max(5).default(MODBUS_DEFAULTS.retries),
        reconnectDelayMs: z.number().int().min(0).default(MODBUS_DEFAULTS.reconnectDelayMs),
        /** unwanted registers a merged read may bridge */
        maxGap: z.number().int().min(0).max(124).default(MODBUS_DEFAULTS.maxGap),
        /** transactions in flight at once on one TCP connection (1 for RS-485 converters; serial buses always 1) */
        tcpConcurrency: z.number().int().min(1).max(32).default(MODBUS_DEFAULTS.tcpConcurrency),
        /** a device that does not answer is retried after initialMs, doubling up to maxMs */
        backoff: z
          .object({ initialMs: z.number().int().min(100), maxMs: z.number().int().min(100) })
          .strict()
          .default(MODBUS_DEFAULTS.backoff),
        /** polls in a row with every register unchanged before gauges are flagged stale */
        staleAfterPolls: z.number().int().min(2).default(MODBUS_DEFAULTS.staleAfterPolls),
      })
      .strict()
      .default(MODBUS_DEFAULTS),
    /** /metrics and /health; port 0 picks a free port */
    http: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(9101) })
      .strict()
      .default({ host: '127.0.0.1', port: 9101 }),
    /** extra directories of device profiles (YAML), searched after the built-in ones */
    profileDirs: z.array(z.string()).default([]),
    devices: z.array(deviceConfigSchema).min(1),
    videoLinkage: videoLinkageSchema.default({ snapshotTimeoutMs: 1000, events: DEFAULT_LINKED_EVENTS, links: [] }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const driverOf = new Map(config.devices.map((d) => [d.id, d.driver] as const));
    config.videoLinkage.links.forEach((link, i) => {
      const door = driverOf.get(link.device);
      if (door === undefined) ctx.addIssue({ code: 'custom', path: ['videoLinkage', 'links', i, 'device'], message: `no device "${link.device}" among the devices` });
      else if (!ACCESS_DRIVERS.has(door)) ctx.addIssue({ code: 'custom', path: ['videoLinkage', 'links', i, 'device'], message: `"${link.device}" (driver ${door}) is not a door` });
      link.cameras.forEach((camera, j) => {
        const driver = driverOf.get(camera);
        if (driver === undefined) ctx.addIssue({ code: 'custom', path: ['videoLinkage', 'links', i, 'cameras', j], message: `no camera "${camera}" among the devices` });
        else if (driver !== 'onvif') ctx.addIssue({ code: 'custom', path: ['videoLinkage', 'links', i, 'cameras', j], message: `"${camera}" (driver ${driver}) is not a camera` });
      });
    });
    // Readers on one OSDP line (one converter port, one serial port) share its link: one address
    // each, and one way of talking (check mode, reply timeout, baud rate).
    const osdpLines = new Map<string, { addresses: Set<number>; settings: string }>();
    config.devices.forEach((d, i) => {
      if (d.driver !== 'osdp+tcp' && d.driver !== 'osdp+serial') return;
      const key = d.driver === 'osdp+tcp' ? `${d.host}:${d.port}` : d.serialPort;
      const settings = `${d.useCrc ? 'CRC' : 'checksum'}, reply timeout ${d.replyTimeoutMs} ms${d.driver === 'osdp+serial' ? `, ${d.baudRate} baud` : ''}`;
      const line = osdpLines.get(key) ?? { addresses: new Set<number>(), settings };
      if (line.addresses.has(d.address)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'address'], message: `OSDP address ${d.address} is already used on ${key}` });
      else if (line.settings !== settings) ctx.addIssue({ code: 'custom', path: ['devices', i], message: `readers on ${key} share one line: ${line.settings} for the first, ${settings} here` });
      line.addresses.add(d.address);
      osdpLines.set(key, line);
    });
    const seen = new Set<string>();
    const serialSettings = new Map<string, string>();
    config.devices.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device id "${d.id}" is used twice` });
      seen.add(d.id);
      if (d.driver === 'modbus+rtu') {
        // Devices on one serial bus share its line settings; a mismatch would garble every frame.
        const settings = `${d.baudRate} ${d.dataBits}${d.parity[0]?.toUpperCase()}${d.stopBits}`;
        const first = serialSettings.get(d.serialPort);
        if (first !== undefined && first !== settings) {
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'baudRate'], message: `${d.serialPort} is already set to ${first} by another device; got ${settings}` });
        }
        serialSettings.set(d.serialPort, first ?? settings);
      }
    });
  });

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type VideoLinkageConfig = GatewayConfig['videoLinkage'];
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

export function loadGatewayConfig(file: string): GatewayConfig {
  // Beyond the schema: every Modbus device names a profile that exists (built in or in profileDirs),
  // reported with its line like any other mistake in the file.
  return loadConfigFile(file, gatewayConfigSchema, (config) => {
    const profiles = loadProfiles([BUILT_IN_PROFILE_DIR, ...config.profileDirs]);
    return config.devices.flatMap((d, i) =>
      d.driver.startsWith('modbus') && 'profile' in d && typeof d.profile === 'string' && !profiles.has(d.profile)
        ? [{ path: ['devices', i, 'profile'], message: `unknown profile "${d.profile}" (known: ${[...profiles.keys()].sort().join(', ')})` }]
        : [],
    );
  });
}
