import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { OsdpLink, type SecureChannelSettings } from './osdp-link.js';

/** Where an OSDP line is reached: a serial-to-Ethernet converter (TCP), or the gateway's own serial port. */
export type OsdpLineTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'serial'; path: string; baudRate: number };

/** A peripheral on the line: told when the link is up and when the line goes down. */
export interface OsdpLineMember {
  address: number;
  secureChannel?: SecureChannelSettings;
  connected(link: OsdpLink): void;
  disconnected(): void;
  secureChannelEvent(what: 'established' | 'key_installed', detail: string): void;
}

export interface OsdpLineOptions {
  replyTimeoutMs: number;
  useCrc: boolean;
  logger: Logger;
  /** a frame on the line that failed its check or made no sense (it cannot be told which reader sent it) */
  onBadFrame: (reason: string, detail: string) => void;
}

const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30_000;

export function lineKey(target: OsdpLineTarget): string {
  return target.kind === 'tcp' ? `tcp:${target.host}:${target.port}` : `serial:${target.path}`;
}

/**
 * One RS-485 line of OSDP peripherals, as wired on a site: several readers multi-dropped on one pair
 * share one connection (a converter port, or a serial port) and one link, which puts one command on
 * the wire at a time. The line connects when its first reader joins, reconnects with backoff while any
 * is left, and closes when the last one leaves.
 */
export class OsdpLine {
  private readonly members = new Map<number, OsdpLineMember>();
  private readonly secureChannels = new Map<number, SecureChannelSettings>();
  private stream: Duplex | undefined;
  private link: OsdpLink | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private running = false;

  constructor(
    readonly target: OsdpLineTarget,
    private readonly options: OsdpLineOptions,
  ) {}

  get name(): string {
    return lineKey(this.target);
  }

  join(member: OsdpLineMember): void {
    if (this.members.has(member.address)) throw new Error(`OSDP line ${this.name}: address ${member.address} is taken by another reader`);
    this.members.set(member.address, member);
    if (member.secureChannel) this.secureChannels.set(member.address, member.secureChannel);
    if (this.link) member.connected(this.link);
    if (!this.running) {
      this.running = true;
      this.connect();
    }
  }

  leave(address: number): void {
    this.members.delete(address);
    this.secureChannels.delete(address);
    if (this.members.size > 0) return;
    this.running = false;
    clearTimeout(this.reconnectTimer);
    this.stream?.destroy();
  }

  private open(): Duplex {
    if (this.target.kind === 'serial') {
      // 8 data bits, no parity, 1 stop bit, as OSDP prescribes.
      return new SerialPort({ path: this.target.path, baudRate: this.target.baudRate, dataBits: 8, parity: 'none', stopBits: 1 });
    }
    const socket = connect(this.target.port, this.target.host);
    socket.setNoDelay(true);
    return socket;
  }

  private connect(): void {
    if (!this.running) return;
    const stream = this.open();
    this.stream = stream;
    stream.on(this.target.kind === 'serial' ? 'open' : 'connect', () => {
      this.reconnectDelay = RECONNECT_MIN_MS;
      const link = new OsdpLink(stream, {
        replyTimeoutMs: this.options.replyTimeoutMs,
        retries: 2,
        useCrc: this.options.useCrc,
        onBadFrame: this.options.onBadFrame,
        // The line's own map: readers joining later are secured too.
        secureChannels: this.secureChannels,
        onSecureChannel: (address, what, detail) => this.members.get(address)?.secureChannelEvent(what, detail),
      });
      this.link = link;
      for (const member of this.members.values()) member.connected(link);
    });
    stream.on('error', (err: Error) => {
      this.options.logger.debug({ line: this.name, err: err.message }, 'OSDP line error');
      // A serial port that fails to open emits no close: make sure one follows, to reconnect.
      if (!stream.destroyed) stream.destroy();
    });
    stream.on('close', () => {
      const hadLink = this.link !== undefined;
      this.link = undefined;
      if (hadLink || this.running) for (const member of this.members.values()) member.disconnected();
      if (!this.running) return;
      this.reconnectTimer = setTimeout(() => this.connect(), this.reconnectDelay);
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    });
  }
}
