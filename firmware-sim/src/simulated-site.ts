import { createWriteStream, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { simulatorConfigSchema, type ScheduledFault, type SimulatedMeterConfig, type SimulatorConfigInput } from './config.js';
import type { FaultSpec } from './faults.js';
import { SimulatedElectricityMeter } from './meters/electricity-meter.js';
import { SimulatedMeterUnit, type MeterPhysics, type ServedRead } from './meters/meter-unit.js';
import { METER_MODELS } from './meters/models/index.js';
import { SimulatedWaterMeter } from './meters/water-meter.js';
import { ModbusRtuServer } from './modbus/modbus-rtu-server.js';
import { DOOR_SCENARIOS, playDoorScenario } from './osdp/door-scenarios.js';
import { SimulatedPeripheral } from './osdp/osdp-peripheral.js';
import { SimulatedCamera } from './onvif/simulated-camera.js';
import { SimulatedIsapiPanel } from './isapi/isapi-panel.js';
import { ISAPI_PANEL_SCENARIOS, playIsapiPanelScenario } from './isapi/isapi-scenarios.js';
import { ModbusTcpServer } from './modbus/modbus-tcp-server.js';

export interface SimulatedSiteOptions {
  logger: Logger;
  onServe?: (read: ServedRead) => void;
  /** source of time for the meters */
  now?: () => number;
}

export interface RunningModbusEndpoint {
  host: string;
  port: number;
  meters: { id: string; unitId: number; model: string }[];
}

export interface SimulatedSite {
  modbusTcp: RunningModbusEndpoint[];
  /** the simulated OSDP doors and the ports they listen on */
  osdpTcp: { id: string; host: string; port: number; address: number }[];
  /** the simulated ONVIF cameras and where their device service is */
  onvifCameras: { id: string; host: string; port: number; deviceServiceUrl: string }[];
  /** the simulated ISAPI panels and their base URL */
  isapiPanels: { id: string; host: string; port: number; url: string }[];
  /** a simulated panel by id */
  panel(id: string): SimulatedIsapiPanel;
  /** a simulated camera by id */
  camera(id: string): SimulatedCamera;
  /** a simulated door by id, to play scenarios on it */
  door(id: string): SimulatedPeripheral;
  /** a simulated meter by id, to inject faults or look at its state */
  meter(id: string): SimulatedMeterUnit;
  stop(): Promise<void>;
}

type MeterState = Record<string, { counter: number }>;

function readState(file: string | undefined, logger: Logger): MeterState {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MeterState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ file, err: (err as Error).message }, 'simulator state unreadable; meters start from their configured values');
    return {};
  }
}

function writeState(file: string, state: MeterState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file);
}

const STATE_SAVE_INTERVAL_MS = 5000;

/** JSON lines of served reads, written in order through one stream. */
function openServedLog(file: string) {
  mkdirSync(dirname(file), { recursive: true });
  const stream = createWriteStream(file, { flags: 'a' });
  return {
    write: (read: ServedRead) => stream.write(`${JSON.stringify({ ts: read.ts, device: read.device, values: read.values })}\n`),
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  };
}

function faultSpec(f: ScheduledFault): FaultSpec {
  switch (f.kind) {
    case 'slow':
      return { kind: 'slow', delayMs: f.delayMs ?? 2000, forMs: f.forMs };
    case 'exception':
      return { kind: 'exception', code: f.code ?? 4, forMs: f.forMs };
    case 'spike':
      return { kind: 'spike', amount: f.amount ?? 1e6, count: f.count };
    case 'silent':
    case 'stuck':
      return { kind: f.kind, forMs: f.forMs };
    case 'counter_reset':
      return { kind: 'counter_reset' };
    default:
      return { kind: f.kind, count: f.count };
  }
}

/** Starts every simulated device of a simulator config. */
export async function startSimulatedSite(input: SimulatorConfigInput, options: SimulatedSiteOptions): Promise<SimulatedSite> {
  const config = simulatorConfigSchema.parse(input);
  const { logger } = options;
  const servedLog = config.servedLog ? openServedLog(config.servedLog) : undefined;
  const onServe = (read: ServedRead) => {
    options.onServe?.(read);
    servedLog?.write(read);
  };
  const saved = readState(config.stateFile, logger);
  const units = new Map<string, SimulatedMeterUnit>();
  const stops: (() => Promise<void>)[] = [];
  const endpoints: RunningModbusEndpoint[] = [];
  const doors = new Map<string, SimulatedPeripheral>();
  const doorEndpoints: SimulatedSite['osdpTcp'] = [];
  const cameras = new Map<string, SimulatedCamera>();
  const panels = new Map<string, SimulatedIsapiPanel>();
  const panelEndpoints: SimulatedSite['isapiPanels'] = [];
  const cameraEndpoints: SimulatedSite['onvifCameras'] = [];
  let seed = config.seed;

  const makeUnit = (m: SimulatedMeterConfig): SimulatedMeterUnit => {
    const model = METER_MODELS[m.model];
    if (!model) throw new Error(`unknown meter model ${m.model}`);
    const counter = saved[m.id]?.counter;
    const physics: MeterPhysics<never> =
      'ratedKw' in m
        ? (new SimulatedElectricityMeter({ ratedKw: m.ratedKw, shape: m.shape, timeZone: config.timeZone, initialImportKwh: counter ?? m.initialImportKwh, seed: seed++, now: options.now }) as never)
        : (new SimulatedWaterMeter({ ratedM3h: m.ratedM3h, shape: m.shape, timeZone: config.timeZone, initialM3: counter ?? m.initialM3, seed: seed++, now: options.now }) as never);
    const unit = new SimulatedMeterUnit(m.id, m.unitId, model, physics, onServe, options.now);
    units.set(m.id, unit);
    return unit;
  };

  try {
    for (const endpoint of config.modbusTcp) {
      const server = new ModbusTcpServer({ host: endpoint.host, port: endpoint.port, units: endpoint.meters.map(makeUnit), logger });
      const port = await server.start();
      stops.push(() => server.stop());
      endpoints.push({ host: endpoint.host, port, meters: endpoint.meters.map((m) => ({ id: m.id, unitId: m.unitId, model: m.model })) });
      logger.info({ host: endpoint.host, port, meters: endpoint.meters.length }, 'simulated Modbus TCP meters listening');
    }
    for (const bus of config.modbusRtu) {
      const server = new ModbusRtuServer({ path: bus.serialPort, baudRate: bus.baudRate, units: bus.meters.map(makeUnit), logger });
      await server.start();
      stops.push(() => server.stop());
      logger.info({ serialPort: bus.serialPort, meters: bus.meters.length }, 'simulated Modbus RTU meters listening');
    }
    for (const d of config.osdpTcp) {
      const sc = d.secureChannel;
      const peripheral = new SimulatedPeripheral({
        address: d.address,
        ...(sc ? { secureChannel: { required: sc.required, ...(sc.baseKey ? { baseKey: Buffer.from(sc.baseKey, 'hex') } : {}) } } : {}),
      });
      const listening = await peripheral.listen(d.port, d.host);
      stops.push(listening.close);
      doors.set(d.id, peripheral);
      doorEndpoints.push({ id: d.id, host: d.host, port: listening.port, address: d.address });
      logger.info({ door: d.id, host: d.host, port: listening.port, address: d.address }, 'simulated OSDP door listening');
    }
    for (const p of config.isapiPanels) {
      const panel = new SimulatedIsapiPanel({ password: p.password, doors: p.doors, cards: p.cards });
      const listening = await panel.listen(p.port, p.host);
      stops.push(listening.close);
      panels.set(p.id, panel);
      panelEndpoints.push({ id: p.id, host: p.host, port: listening.port, url: `http://${p.host}:${listening.port}` });
      logger.info({ panel: p.id, host: p.host, port: listening.port }, 'simulated ISAPI panel listening');
    }
    for (const c of config.onvifCameras) {
      const camera = new SimulatedCamera({ name: c.name, username: c.username, password: c.password, discovery: c.discovery ? {} : false, logger });
      const listening = await camera.listen(c.port, c.host);
      stops.push(listening.close);
      cameras.set(c.id, camera);
      cameraEndpoints.push({ id: c.id, host: c.host, port: listening.port, deviceServiceUrl: `http://${c.host}:${listening.port}/onvif/device_service` });
      logger.info({ camera: c.id, host: c.host, port: listening.port }, 'simulated ONVIF camera listening');
    }
  } catch (err) {
    await Promise.all(stops.map((stop) => stop()));
    throw err;
  }

  const timers: NodeJS.Timeout[] = [];
  /** Something the site does every `ms`, for as long as it runs (it never keeps the process alive). */
  const every = (ms: number, act: () => void) => {
    const timer = setInterval(act, ms);
    timer.unref();
    timers.push(timer);
  };
  /** The scenarios of a door, one after the other, round and round. */
  const inTurn = <S>(scenarios: readonly S[]) => {
    let next = 0;
    return () => scenarios[next++ % scenarios.length]!;
  };
  for (const d of config.osdpTcp) {
    if (!d.scenarioEveryMs) continue;
    const peripheral = doors.get(d.id)!;
    const nextScenario = inTurn(DOOR_SCENARIOS);
    const options = { enrolledCard: Buffer.from(d.enrolledCard, 'hex'), unknownCard: Buffer.from(d.unknownCard, 'hex'), heldOpenMs: d.heldOpenMs };
    every(d.scenarioEveryMs, () => void playDoorScenario(peripheral, nextScenario(), options, logger));
  }
  for (const p of config.isapiPanels) {
    if (!p.scenarioEveryMs) continue;
    const panel = panels.get(p.id)!;
    const nextScenario = inTurn(ISAPI_PANEL_SCENARIOS);
    const options = { enrolledCard: p.cards[0] ?? '3000012345', unknownCard: '9999900001' };
    every(p.scenarioEveryMs, () => void playIsapiPanelScenario(panel, nextScenario(), options, logger));
  }
  for (const c of config.onvifCameras) {
    if (!c.motionEveryMs) continue;
    const camera = cameras.get(c.id)!;
    every(c.motionEveryMs, () => {
      logger.info({ camera: c.id }, 'simulated motion');
      camera.triggerMotion(true);
      setTimeout(() => camera.triggerMotion(false), 5000).unref();
    });
  }
  for (const f of config.faults) {
    const inject = () => {
      logger.info({ meter: f.meter, fault: f.kind }, 'injecting simulated fault');
      units.get(f.meter)?.inject(faultSpec(f));
    };
    const first = setTimeout(() => {
      inject();
      if (f.everyMs) timers.push(setInterval(inject, f.everyMs));
    }, f.afterMs);
    timers.push(first);
  }

  const saveState = () => {
    if (!config.stateFile) return;
    const state: MeterState = {};
    for (const [id, unit] of units) state[id] = { counter: unit.physics.counterValue };
    writeState(config.stateFile, state);
  };
  if (config.stateFile) every(STATE_SAVE_INTERVAL_MS, saveState);

  return {
    modbusTcp: endpoints,
    osdpTcp: doorEndpoints,
    onvifCameras: cameraEndpoints,
    isapiPanels: panelEndpoints,
    panel: (id: string) => found(panels, id, 'panel'),
    camera: (id: string) => found(cameras, id, 'camera'),
    door: (id: string) => found(doors, id, 'door'),
    meter: (id: string) => found(units, id, 'meter'),
    async stop() {
      for (const t of timers) clearTimeout(t);
      await Promise.all(stops.map((stop) => stop()));
      saveState();
      await servedLog?.close();
    },
  };
}

function found<T>(devices: ReadonlyMap<string, T>, id: string, what: string): T {
  const device = devices.get(id);
  if (!device) throw new Error(`no simulated ${what} "${id}"`);
  return device;
}
