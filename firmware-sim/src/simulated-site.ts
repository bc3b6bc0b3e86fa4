import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { simulatorConfigSchema, type SimulatorConfigInput } from './config.js';
import { SimulatedElectricityMeter } from './meters/electricity-meter.js';
import { ModbusTcpMeterServer, type ServedRead } from './modbus/modbus-tcp-meter-server.js';

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
  stop(): Promise<void>;
}

type MeterState = Record<string, { importKwh: number }>;

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

/** Starts every simulated device of a simulator config. */
export async function startSimulatedSite(input: SimulatorConfigInput, options: SimulatedSiteOptions): Promise<SimulatedSite> {
  const config = simulatorConfigSchema.parse(input);
  const { logger } = options;
  const saved = readState(config.stateFile, logger);
  const meters = new Map<string, SimulatedElectricityMeter>();
  const servers: ModbusTcpMeterServer[] = [];
  const endpoints: RunningModbusEndpoint[] = [];
  let seed = config.seed;

  try {
    for (const endpoint of config.modbusTcp) {
      const units = endpoint.meters.map((m) => {
        const meter = new SimulatedElectricityMeter({
          ratedKw: m.ratedKw,
          shape: m.shape,
          timeZone: config.timeZone,
          initialImportKwh: saved[m.id]?.importKwh ?? m.initialImportKwh,
          seed: seed++,
          now: options.now,
        });
        meters.set(m.id, meter);
        return { unitId: m.unitId, meter };
      });
      const server = new ModbusTcpMeterServer({ host: endpoint.host, port: endpoint.port, units, logger, onServe: options.onServe });
      const port = await server.start();
      servers.push(server);
      endpoints.push({ host: endpoint.host, port, meters: endpoint.meters.map((m) => ({ id: m.id, unitId: m.unitId, model: m.model })) });
      logger.info({ host: endpoint.host, port, meters: endpoint.meters.length }, 'simulated Modbus TCP meters listening');
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }

  const saveState = () => {
    if (!config.stateFile) return;
    const state: MeterState = {};
    for (const [id, meter] of meters) {
      meter.advance();
      state[id] = { importKwh: meter.importEnergyKwh };
    }
    writeState(config.stateFile, state);
  };
  const saver = config.stateFile ? setInterval(saveState, STATE_SAVE_INTERVAL_MS) : undefined;
  saver?.unref();

  return {
    modbusTcp: endpoints,
    async stop() {
      if (saver) clearInterval(saver);
      await Promise.all(servers.map((s) => s.stop()));
      saveState();
    },
  };
}
