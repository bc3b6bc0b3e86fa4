import { z } from 'zod';
import { loadConfigFile } from '@gatehouse/contracts';
import { FAULT_KINDS } from './faults.js';
import { LOAD_SHAPE_NAMES, type LoadShapeName } from './meters/load-shape.js';
import { ELECTRICITY_MODEL_IDS, WATER_MODEL_IDS } from './meters/models/index.js';

const shapeSchema = z.enum(LOAD_SHAPE_NAMES as [LoadShapeName, ...LoadShapeName[]]);
const common = {
  /** name used in logs, fault schedules and the state file */
  id: z.string().min(1),
  unitId: z.number().int().min(1).max(247),
  shape: shapeSchema,
};

const electricityMeterSchema = z
  .object({
    ...common,
    model: z.enum(ELECTRICITY_MODEL_IDS as [string, ...string[]]),
    /** rated (peak) active power of the load behind the meter, kW */
    ratedKw: z.number().positive(),
    initialImportKwh: z.number().nonnegative().default(0),
  })
  .strict();

const waterMeterSchema = z
  .object({
    ...common,
    model: z.enum(WATER_MODEL_IDS as [string, ...string[]]),
    /** flow at full demand, m³/h */
    ratedM3h: z.number().positive(),
    initialM3: z.number().nonnegative().default(0),
  })
  .strict();

export const simulatedMeterSchema = z.union([electricityMeterSchema, waterMeterSchema]);
export type SimulatedMeterConfig = z.output<typeof simulatedMeterSchema>;

const modbusTcpEndpointSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port */
    port: z.number().int().min(0).max(65535),
    meters: z.array(simulatedMeterSchema).min(1),
  })
  .strict();

const modbusRtuBusSchema = z
  .object({
    /** serial device the simulated meters listen on, e.g. one end of a socat pty pair */
    serialPort: z.string().min(1),
    baudRate: z.number().int().positive().default(9600),
    meters: z.array(simulatedMeterSchema).min(1),
  })
  .strict();

/** An OSDP door peripheral (reader, keypad, door contact, exit button, strike, tamper) on TCP. */
const osdpDoorSchema = z
  .object({
    id: z.string().min(1),
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port */
    port: z.number().int().min(0).max(65535),
    address: z.number().int().min(0).max(126),
    /** play a door scenario every this many ms (card granted, denied, forced, held open, exit, tamper, reader offline) */
    scenarioEveryMs: z.number().int().min(1000).optional(),
    enrolledCard: z.string().regex(/^[0-9A-Fa-f]{2,32}$/).default('12345640'),
    unknownCard: z.string().regex(/^[0-9A-Fa-f]{2,32}$/).default('DEADBEEF'),
    heldOpenMs: z.number().int().min(1000).default(35_000),
    /**
     * The reader's OSDP secure channel: `baseKey` its installed key (32 hex digits; absent, it is
     * factory-fresh and takes SCBK-D until given a key), `required` refuses commands outside it.
     */
    secureChannel: z
      .object({ baseKey: z.string().regex(/^[0-9A-Fa-f]{32}$/, 'expected a 16-byte AES key as 32 hex digits').optional(), required: z.boolean().default(false) })
      .strict()
      .optional(),
  })
  .strict();

/** A simulated Hikvision-style access panel over ISAPI: Digest auth, alert stream, event log, remote door. */
const isapiPanelSchema = z
  .object({
    id: z.string().min(1),
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port */
    port: z.number().int().min(0).max(65535),
    /** password of the panel's admin user */
    password: z.string().min(1),
    doors: z.number().int().min(1).max(8).default(1),
    /** card numbers the panel grants */
    cards: z.array(z.string().regex(/^[0-9]{1,20}$/, 'expected a card number in digits')).default(['3000012345']),
    /** play a panel scenario every this many ms (card granted, denied, forced, held open, exit, tamper, duress, panel offline) */
    scenarioEveryMs: z.number().int().min(1000).optional(),
  })
  .strict();

/** A simulated ONVIF camera: device, media and event services, Digest-protected JPEG snapshots. */
const onvifCameraSchema = z
  .object({
    id: z.string().min(1),
    /** burnt into its snapshots */
    name: z.string().min(1).max(64),
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port */
    port: z.number().int().min(0).max(65535),
    username: z.string().min(1).default('admin'),
    password: z.string().min(1),
    /** report motion for a few seconds every this many ms */
    motionEveryMs: z.number().int().min(1000).optional(),
    /** answer WS-Discovery probes on UDP 3702 (one camera per machine can) */
    discovery: z.boolean().default(false),
  })
  .strict();

const scheduledFaultSchema = z
  .object({
    meter: z.string().min(1),
    kind: z.enum(FAULT_KINDS),
    /** when to inject it, after the simulator starts */
    afterMs: z.number().int().nonnegative(),
    /** how long it lasts (silent, slow, exception, stuck) */
    forMs: z.number().int().positive().optional(),
    delayMs: z.number().int().positive().optional(),
    code: z.number().int().min(1).max(255).optional(),
    amount: z.number().optional(),
    count: z.number().int().positive().optional(),
    /** repeat every this many ms */
    everyMs: z.number().int().positive().optional(),
  })
  .strict();

export type ScheduledFault = z.output<typeof scheduledFaultSchema>;

export const simulatorConfigSchema = z
  .object({
    timeZone: z.string().default('Asia/Shanghai'),
    /** seed of the random noise, so a simulated site is reproducible */
    seed: z.number().int().default(1),
    /** where meters keep their counters between runs, as a real meter keeps them in flash */
    stateFile: z.string().optional(),
    /** append every answered read, with the exact values served, to this file (JSON lines): ground truth for end-to-end checks */
    servedLog: z.string().optional(),
    modbusTcp: z.array(modbusTcpEndpointSchema).default([]),
    modbusRtu: z.array(modbusRtuBusSchema).default([]),
    osdpTcp: z.array(osdpDoorSchema).default([]),
    onvifCameras: z.array(onvifCameraSchema).default([]),
    isapiPanels: z.array(isapiPanelSchema).default([]),
    faults: z.array(scheduledFaultSchema).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const ids = new Set<string>();
    const all = [...config.modbusTcp.map((e, i) => ['modbusTcp', i, e.meters] as const), ...config.modbusRtu.map((b, i) => ['modbusRtu', i, b.meters] as const)];
    for (const [section, i, meters] of all) {
      const units = new Set<number>();
      meters.forEach((m, j) => {
        if (ids.has(m.id)) ctx.addIssue({ code: 'custom', path: [section, i, 'meters', j, 'id'], message: `meter id "${m.id}" is used twice` });
        if (units.has(m.unitId)) ctx.addIssue({ code: 'custom', path: [section, i, 'meters', j, 'unitId'], message: `unit id ${m.unitId} is used twice on this link` });
        ids.add(m.id);
        units.add(m.unitId);
      });
    }
    config.faults.forEach((f, i) => {
      if (!ids.has(f.meter)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'meter'], message: `no simulated meter "${f.meter}"` });
    });
  });

export type SimulatorConfig = z.output<typeof simulatorConfigSchema>;
export type SimulatorConfigInput = z.input<typeof simulatorConfigSchema>;

export function loadSimulatorConfig(file: string): SimulatorConfig {
  return loadConfigFile(file, simulatorConfigSchema);
}
