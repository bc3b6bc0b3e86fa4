import modbusSerial from 'modbus-serial';
import type { Logger } from 'pino';
import type { RegisterFunction } from './profile.js';

export interface ModbusTcpConnectionOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** wait this long after a failed connect before trying again */
  reconnectDelayMs: number;
  logger: Logger;
}

/** A failed transaction, classified the way readings report it. */
export class ModbusReadError extends Error {
  constructor(
    readonly kind: 'timeout' | 'exception' | 'disconnected' | 'error',
    message: string,
    readonly exceptionCode?: number,
  ) {
    super(message);
    this.name = 'ModbusReadError';
  }
}

// modbus-serial is CommonJS; its class is both module.exports and module.exports.default.
const ModbusRTU = modbusSerial.default;

const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

function classify(err: unknown): ModbusReadError {
  const e = err as { modbusCode?: number; name?: string; message?: string; errno?: string };
  if (typeof e.modbusCode === 'number') {
    return new ModbusReadError('exception', `exception ${e.modbusCode}: ${EXCEPTION_NAMES[e.modbusCode] ?? 'unknown'}`, e.modbusCode);
  }
  if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT') return new ModbusReadError('timeout', 'timed out');
  if (e.name === 'PortNotOpenError') return new ModbusReadError('disconnected', 'connection not open');
  return new ModbusReadError('error', e.message ?? String(err));
}

/**
 * One Modbus TCP connection, shared by every device (unit id) behind the same host and port, as on an
 * RS-485/Ethernet converter. Transactions run one at a time: converters forward one request to the
 * serial bus at a time anyway, and a queue here keeps answers matched to their requests.
 */
export class ModbusTcpConnection {
  private readonly client = new ModbusRTU();
  private queue: Promise<unknown> = Promise.resolve();
  private connecting: Promise<void> | undefined;
  private lastConnectFailure = 0;
  private closed = false;

  constructor(private readonly options: ModbusTcpConnectionOptions) {
    this.client.setTimeout(options.timeoutMs);
  }

  get endpoint(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** Reads `length` registers; resolves with the raw 16-bit words. */
  read(unitId: number, fn: RegisterFunction, address: number, length: number): Promise<number[]> {
    const run = async () => {
      await this.ensureConnected();
      this.client.setID(unitId);
      try {
        const result = fn === 'input' ? await this.client.readInputRegisters(address, length) : await this.client.readHoldingRegisters(address, length);
        return result.data;
      } catch (err) {
        throw classify(err);
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ensureConnected(): Promise<void> {
    if (this.closed) throw new ModbusReadError('disconnected', 'connection closed');
    if (this.client.isOpen) return;
    const sinceFailure = Date.now() - this.lastConnectFailure;
    if (sinceFailure < this.options.reconnectDelayMs) {
      throw new ModbusReadError('disconnected', `not connected to ${this.endpoint}; retrying in ${Math.ceil((this.options.reconnectDelayMs - sinceFailure) / 1000)} s`);
    }
    this.connecting ??= this.client
      .connectTCP(this.options.host, { port: this.options.port, timeout: this.options.timeoutMs } as never)
      .then(() => {
        this.options.logger.info({ endpoint: this.endpoint }, 'modbus connected');
      })
      .catch((err: Error) => {
        this.lastConnectFailure = Date.now();
        this.options.logger.warn({ endpoint: this.endpoint, err: err.message }, 'modbus connect failed');
        throw new ModbusReadError('disconnected', `cannot connect to ${this.endpoint}: ${err.message}`);
      })
      .finally(() => {
        this.connecting = undefined;
      });
    await this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    if (this.client.isOpen) await new Promise<void>((resolve) => this.client.close(() => resolve()));
  }
}
