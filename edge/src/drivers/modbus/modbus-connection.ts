import modbusSerial from 'modbus-serial';
import type { Logger } from 'pino';
import type { RegisterFunction } from './profile.js';

// modbus-serial is CommonJS; its class is both module.exports and module.exports.default.
const ModbusRTU = modbusSerial.default;

export type ModbusTransport =
  | { kind: 'tcp'; host: string; port: number }
  /** RTU frames (with CRC) carried over a TCP socket, as many serial device servers do */
  | { kind: 'rtu-over-tcp'; host: string; port: number }
  | { kind: 'rtu'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 };

export function describeTransport(t: ModbusTransport): string {
  return t.kind === 'rtu' ? `rtu:${t.path}@${t.baudRate}` : `${t.kind}://${t.host}:${t.port}`;
}

export interface ModbusConnectionOptions {
  transport: ModbusTransport;
  /** transactions in flight at once; always 1 on a serial bus */
  concurrency: number;
  /** wait this long after a failed connect before trying again */
  reconnectDelayMs: number;
  logger: Logger;
}

export type ModbusFailureKind = 'timeout' | 'exception' | 'disconnected' | 'bad_response';

/** A failed transaction, classified the way readings report it. */
export class ModbusReadError extends Error {
  constructor(
    readonly kind: ModbusFailureKind,
    message: string,
    readonly exceptionCode?: number,
  ) {
    super(message);
    this.name = 'ModbusReadError';
  }

  /** True when the device (or the path to it) did not answer, as opposed to answering with an exception. */
  get deviceUnreachable(): boolean {
    // Exceptions 10 and 11 come from a gateway that could not reach the device behind it.
    return this.kind === 'timeout' || this.kind === 'disconnected' || this.exceptionCode === 10 || this.exceptionCode === 11;
  }
}

export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

function classify(err: unknown): ModbusReadError {
  if (err instanceof ModbusReadError) return err;
  const e = err as { modbusCode?: number; name?: string; message?: string; errno?: string };
  if (typeof e.modbusCode === 'number') {
    return new ModbusReadError('exception', `exception ${e.modbusCode}: ${EXCEPTION_NAMES[e.modbusCode] ?? 'unknown'}`, e.modbusCode);
  }
  if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT') return new ModbusReadError('timeout', 'timed out');
  if (e.name === 'PortNotOpenError') return new ModbusReadError('disconnected', 'connection not open');
  // CRC errors, wrong unit id or function code in the answer, short frames: the device said something,
  // but not a valid answer to what was asked.
  return new ModbusReadError('bad_response', e.message ?? String(err));
}

/** Timeouts in a row, with no answer at all in between, after which a TCP link is re-established. */
const HALF_OPEN_TIMEOUTS = 5;

export interface ReadRequest {
  unitId: number;
  fn: RegisterFunction;
  address: number;
  length: number;
  timeoutMs: number;
}

/**
 * One Modbus link: a TCP connection or a serial bus, shared by every device (unit id) on it. At most
 * `concurrency` transactions are in flight; the rest wait their turn in order, so one slow device delays
 * its neighbours by no more than its own timeout. Reconnects by itself after the link drops.
 */
export class ModbusConnection {
  private readonly client = new ModbusRTU();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private connecting: Promise<void> | undefined;
  private lastConnectFailure = 0;
  private closed = false;
  private consecutiveTimeouts = 0;
  readonly endpoint: string;

  constructor(private readonly options: ModbusConnectionOptions) {
    this.endpoint = describeTransport(options.transport);
  }

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  /** Reads registers (words) or bits (as 0/1) and resolves with them. */
  async read(request: ReadRequest): Promise<number[]> {
    await this.acquire();
    try {
      await this.ensureConnected();
      // modbus-serial reads the unit id and timeout when it sends, synchronously, so setting them right
      // before each call is safe with several transactions in flight.
      this.client.setID(request.unitId);
      this.client.setTimeout(request.timeoutMs);
      try {
        const data = await this.transact(request);
        this.consecutiveTimeouts = 0;
        return data;
      } catch (err) {
        const failure = classify(err);
        if (failure.kind === 'timeout') this.noteTimeout();
        else this.consecutiveTimeouts = 0;
        throw failure;
      }
    } finally {
      this.release();
    }
  }

  private async transact(request: ReadRequest): Promise<number[]> {
    // modbus-serial files each transaction under the port's next transaction id and never removes it;
    // the entry (with its response data) lives on until the id comes round again, hundreds of requests
    // later. At thousands of requests a second that keeps megabytes alive for nothing, so drop our
    // entry once it is answered.
    const internals = this.client as unknown as { _transactions?: Record<string, unknown>; _port?: { _transactionIdWrite?: number } };
    const id = internals._port?._transactionIdWrite;
    try {
      return await this.send(request);
    } finally {
      if (internals._transactions && id !== undefined) delete internals._transactions[id];
    }
  }

  private async send(request: ReadRequest): Promise<number[]> {
    switch (request.fn) {
      case 'holding':
        return (await this.client.readHoldingRegisters(request.address, request.length)).data;
      case 'input':
        return (await this.client.readInputRegisters(request.address, request.length)).data;
      case 'coil':
        return (await this.client.readCoils(request.address, request.length)).data.slice(0, request.length).map(Number);
      case 'discrete':
        return (await this.client.readDiscreteInputs(request.address, request.length)).data.slice(0, request.length).map(Number);
    }
  }

  /**
   * A TCP peer that vanished without closing (power cut, NAT timeout) leaves a socket that looks open
   * but never answers: after a run of timeouts with no answer in between, start a fresh connection.
   */
  private noteTimeout(): void {
    this.consecutiveTimeouts++;
    if (this.consecutiveTimeouts < HALF_OPEN_TIMEOUTS || this.options.transport.kind === 'rtu') return;
    this.consecutiveTimeouts = 0;
    this.options.logger.warn({ endpoint: this.endpoint }, 'no answer to several requests in a row; reconnecting');
    this.client.close(() => undefined);
  }

  private acquire(): Promise<void> {
    const limit = this.options.transport.kind === 'rtu' ? 1 : this.options.concurrency;
    if (this.active < limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async ensureConnected(): Promise<void> {
    if (this.closed) throw new ModbusReadError('disconnected', 'connection closed');
    if (this.client.isOpen) return;
    const sinceFailure = Date.now() - this.lastConnectFailure;
    if (sinceFailure < this.options.reconnectDelayMs) {
      throw new ModbusReadError('disconnected', `not connected to ${this.endpoint}; retrying in ${Math.ceil((this.options.reconnectDelayMs - sinceFailure) / 1000)} s`);
    }
    this.connecting ??= this.open()
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

  private open(): Promise<void> {
    const t = this.options.transport;
    switch (t.kind) {
      case 'tcp':
        return this.client.connectTCP(t.host, { port: t.port });
      case 'rtu-over-tcp':
        // modbus-serial's "telnet" port carries raw RTU frames (with CRC) over TCP.
        return this.client.connectTelnet(t.host, { port: t.port });
      case 'rtu':
        return this.client.connectRTUBuffered(t.path, { baudRate: t.baudRate, parity: t.parity, dataBits: t.dataBits, stopBits: t.stopBits });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    if (this.client.isOpen) await new Promise<void>((resolve) => this.client.close(() => resolve()));
  }
}
