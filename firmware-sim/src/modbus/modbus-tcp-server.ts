import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { answerPdu, damagePdu, EXCEPTION, type ModbusUnit } from './modbus-unit.js';

export interface ModbusTcpServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  units: ModbusUnit[];
  logger: Logger;
  /** answer exception 11 for unknown unit ids, as a Modbus gateway does; otherwise stay silent */
  gatewayExceptions?: boolean;
}

const MBAP_LENGTH = 7;

/**
 * Modbus TCP server (MBAP framing) in front of simulated units, as an RS-485/Ethernet converter with
 * several meters on its bus would be: each answers to its own unit id.
 */
export class ModbusTcpServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly units: Map<number, ModbusUnit>;
  private boundPort = 0;

  constructor(private readonly options: ModbusTcpServerOptions) {
    this.units = new Map(options.units.map((u) => [u.unitId, u]));
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<number> {
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    return this.boundPort;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= MBAP_LENGTH) {
        const length = buffer.readUInt16BE(4);
        if (buffer.readUInt16BE(2) !== 0 || length < 2 || length > 254) {
          // Not Modbus: drop the connection, as a real server would.
          this.options.logger.debug({ port: this.boundPort }, 'invalid MBAP header; closing connection');
          socket.destroy();
          return;
        }
        if (buffer.length < 6 + length) break;
        const frame = buffer.subarray(0, 6 + length);
        buffer = buffer.subarray(6 + length);
        this.handle(socket, frame);
      }
    });
    socket.on('error', (err) => this.options.logger.debug({ err: err.message }, 'modbus tcp client socket error'));
    socket.on('close', () => this.sockets.delete(socket));
  }

  private handle(socket: Socket, frame: Buffer): void {
    const transactionId = frame.readUInt16BE(0);
    const unitId = frame[6] ?? 0;
    const pdu = frame.subarray(7);
    const unit = this.units.get(unitId);
    if (!unit) {
      if (this.options.gatewayExceptions ?? true) {
        this.send(socket, transactionId, unitId, Buffer.from([(pdu[0] ?? 0) | 0x80, EXCEPTION.GATEWAY_TARGET_FAILED]));
      }
      return;
    }
    const answer = answerPdu(unit, pdu);
    if (!answer) return;
    const damage = unit.takeFrameDamage();
    const out = damage ? damagePdu(answer, unitId, damage) : { pdu: answer, unitId };
    const delay = unit.answerDelayMs();
    if (delay > 0) setTimeout(() => this.send(socket, transactionId, out.unitId, out.pdu), delay);
    else this.send(socket, transactionId, out.unitId, out.pdu);
  }

  private send(socket: Socket, transactionId: number, unitId: number, pdu: Buffer): void {
    if (socket.destroyed) return;
    const header = Buffer.alloc(MBAP_LENGTH);
    header.writeUInt16BE(transactionId, 0);
    header.writeUInt16BE(0, 2);
    header.writeUInt16BE(pdu.length + 1, 4);
    header[6] = unitId;
    socket.write(Buffer.concat([header, pdu]));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
