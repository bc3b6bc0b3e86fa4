import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { hasValidCrc, withCrc } from './crc16.js';
import { answerPdu, damagePdu, type ModbusUnit } from './modbus-unit.js';

export interface ModbusRtuServerOptions {
  /** serial device, e.g. one end of a `socat` pty pair */
  path: string;
  baudRate: number;
  units: ModbusUnit[];
  logger: Logger;
}

/** Every read request (FC 1-4) is exactly 8 bytes on the wire: unit, function, address, count, CRC. */
const READ_REQUEST_LENGTH = 8;

/**
 * Modbus RTU devices on one serial bus. Requests are framed by length and CRC; a unit id nobody has,
 * or a frame with a bad CRC, gets no answer, as on a real RS-485 bus.
 */
export class ModbusRtuServer {
  private port: SerialPort | undefined;
  private buffer = Buffer.alloc(0);
  private readonly units: Map<number, ModbusUnit>;

  constructor(private readonly options: ModbusRtuServerOptions) {
    this.units = new Map(options.units.map((u) => [u.unitId, u]));
  }

  async start(): Promise<void> {
    const port = new SerialPort({ path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (chunk: Buffer) => this.receive(chunk));
    port.on('error', (err) => this.options.logger.warn({ path: this.options.path, err: err.message }, 'serial port error'));
    this.port = port;
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= READ_REQUEST_LENGTH) {
      const frame = this.buffer.subarray(0, READ_REQUEST_LENGTH);
      if (!hasValidCrc(frame)) {
        // Line noise or a frame we cannot parse: slide one byte and look for the next frame start.
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      this.buffer = this.buffer.subarray(READ_REQUEST_LENGTH);
      this.handle(frame);
    }
  }

  private handle(frame: Buffer): void {
    const unitId = frame[0] ?? 0;
    const unit = this.units.get(unitId);
    if (!unit) return;
    const answer = answerPdu(unit, frame.subarray(1, -2));
    if (!answer) return;
    const damage = unit.takeFrameDamage();
    const out = damage ? damagePdu(answer, unitId, damage) : { pdu: answer, unitId };
    let wire = withCrc(Buffer.concat([Buffer.from([out.unitId]), out.pdu]));
    if (damage === 'bad_crc') {
      wire = Buffer.from(wire);
      wire[wire.length - 1] = (wire[wire.length - 1] ?? 0) ^ 0xff;
    }
    const delay = unit.answerDelayMs();
    if (delay > 0) setTimeout(() => this.port?.write(wire), delay);
    else this.port?.write(wire);
  }

  async stop(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
