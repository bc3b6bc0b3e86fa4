import ModbusRTU from 'modbus-serial';
import type { Logger } from 'pino';
import type { SimulatedElectricityMeter } from '../meters/electricity-meter.js';
import { SDM630_INPUT_REGISTERS, SDM630_REGISTERS_PER_VALUE } from '../meters/eastron-sdm630.js';
import { findFreePort } from './free-port.js';

/** One read the simulator answered, with the values it put on the wire (as float32, exactly). */
export interface ServedRead {
  ts: number;
  port: number;
  unitId: number;
  functionCode: 3 | 4;
  address: number;
  length: number;
  /** metric → the exact value encoded, for every value wholly inside the requested range */
  values: Record<string, number>;
}

export interface SimulatedMeterUnit {
  unitId: number;
  meter: SimulatedElectricityMeter;
}

export interface ModbusTcpMeterServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  units: SimulatedMeterUnit[];
  logger: Logger;
  /** called for every answered read; tests use it to compare what was served with what was stored */
  onServe?: (read: ServedRead) => void;
}

/** Modbus exception codes the simulated firmware raises. */
const ILLEGAL_DATA_ADDRESS = 2;
const GATEWAY_TARGET_FAILED = 11;

class ModbusException extends Error {
  constructor(readonly modbusErrorCode: number) {
    super(`modbus exception ${modbusErrorCode}`);
  }
}

/**
 * A Modbus TCP endpoint in front of one or more simulated meters, as an RS-485-to-Ethernet converter
 * with several meters on its bus would be: each meter answers to its own unit id.
 */
export class ModbusTcpMeterServer {
  private server: InstanceType<typeof ModbusRTU.ServerTCP> | undefined;
  private boundPort = 0;
  private readonly units: Map<number, SimulatedElectricityMeter>;

  constructor(private readonly options: ModbusTcpMeterServerOptions) {
    this.units = new Map(options.units.map((u) => [u.unitId, u.meter]));
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<number> {
    const port = this.options.port === 0 ? await findFreePort(this.options.host) : this.options.port;
    const vector = {
      getInputRegister: (address: number, unitId: number) => this.read(4, address, 1, unitId)[0] ?? 0,
      getMultipleInputRegisters: (address: number, length: number, unitId: number) => this.read(4, address, length, unitId),
      getHoldingRegister: (address: number, unitId: number) => this.rejectHolding(address, unitId),
      getMultipleHoldingRegisters: (address: number, _length: number, unitId: number) => this.rejectHolding(address, unitId),
    };
    const server = new ModbusRTU.ServerTCP(vector as never, { host: this.options.host, port, unitID: 255 });
    await new Promise<void>((resolve, reject) => {
      server.once('initialized', () => resolve());
      server.once('serverError', (err: Error) => reject(err));
    });
    (server as unknown as NodeJS.EventEmitter).on('socketError', (err: Error) => this.options.logger.debug({ err: err.message, port }, 'modbus client socket error'));
    this.server = server;
    this.boundPort = port;
    return port;
  }

  private meterFor(unitId: number): SimulatedElectricityMeter {
    const meter = this.units.get(unitId);
    // A converter with no such meter on its bus answers "gateway target device failed to respond".
    if (!meter) throw new ModbusException(GATEWAY_TARGET_FAILED);
    return meter;
  }

  private rejectHolding(_address: number, unitId: number): never {
    this.meterFor(unitId);
    throw new ModbusException(ILLEGAL_DATA_ADDRESS);
  }

  /** Encodes one consistent snapshot of the meter into the requested register window. */
  private read(functionCode: 4, address: number, length: number, unitId: number): number[] {
    const meter = this.meterFor(unitId);
    const snapshot = meter.snapshot();
    const words = new Array<number>(length).fill(0);
    const values: Record<string, number> = {};
    const scratch = Buffer.alloc(4);
    const end = address + length;
    for (const reg of SDM630_INPUT_REGISTERS) {
      const regEnd = reg.address + SDM630_REGISTERS_PER_VALUE;
      if (regEnd <= address || reg.address >= end) continue;
      const value = Math.fround(reg.value(snapshot));
      scratch.writeFloatBE(value, 0);
      for (let word = 0; word < SDM630_REGISTERS_PER_VALUE; word++) {
        const at = reg.address + word - address;
        if (at >= 0 && at < length) words[at] = scratch.readUInt16BE(word * 2);
      }
      // Only a value whose every word went out counts as served.
      if (reg.address >= address && regEnd <= end) values[reg.metric] = value;
    }
    this.options.onServe?.({ ts: Date.now(), port: this.boundPort, unitId, functionCode, address, length, values });
    return words;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
