import type { Duplex } from 'node:stream';
import { encodeFrame, FrameReader, MARK, type OsdpFrame, type Sequence } from './osdp-frame.js';
import { REPLY } from './osdp-messages.js';

export interface OsdpLinkOptions {
  /** how long to wait for a reply before sending the command again (the standard's 200 ms) */
  replyTimeoutMs?: number;
  /** how many times a command is sent again before the peripheral counts as not answering */
  retries?: number;
  /** CRC-16 (default) or the one-byte checksum of older peripherals */
  useCrc?: boolean;
  /** told about every frame that failed its check or made no sense, for the log and the metrics */
  onBadFrame?: (reason: string, detail: string) => void;
}

export class OsdpTimeoutError extends Error {
  constructor(
    readonly address: number,
    message: string,
  ) {
    super(message);
    this.name = 'OsdpTimeoutError';
  }
}

const NAK_SEQUENCE = 4;

/**
 * The control panel's end of one OSDP line (RS-485 or TCP): one command at a time, each matched with
 * the reply from the addressed peripheral carrying the same sequence number. A lost command or reply is
 * handled the way the standard intends: the command goes again with the same sequence number, and the
 * peripheral, having seen that number, sends its last reply again unchanged, so a card read in a lost
 * reply is delivered, once. A peripheral that lost track (NAK 4) starts over from sequence 0.
 */
export class OsdpLink {
  private readonly reader = new FrameReader();
  private readonly nextSequence = new Map<number, Sequence>();
  private queue: Promise<unknown> = Promise.resolve();
  private waiting: { address: number; sequence: Sequence; resolve: (frame: OsdpFrame) => void } | undefined;
  private readonly replyTimeoutMs: number;
  private readonly retries: number;
  private readonly useCrc: boolean;

  constructor(
    private readonly stream: Duplex,
    private readonly options: OsdpLinkOptions = {},
  ) {
    this.replyTimeoutMs = options.replyTimeoutMs ?? 200;
    this.retries = options.retries ?? 3;
    this.useCrc = options.useCrc ?? true;
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  /** Sends a command to the peripheral at `address` and resolves with its reply frame. */
  send(address: number, code: number, data: Uint8Array = new Uint8Array()): Promise<OsdpFrame> {
    const run = this.queue.catch(() => undefined).then(() => this.exchange(address, code, data));
    this.queue = run;
    return run;
  }

  /** Starts the peripheral's session over (sequence 0), e.g. after it was offline. */
  reset(address: number): void {
    this.nextSequence.delete(address);
  }

  private async exchange(address: number, code: number, data: Uint8Array): Promise<OsdpFrame> {
    let sequence = this.nextSequence.get(address) ?? 0;
    let resetOnce = false;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const reply = await this.attempt(address, sequence, code, data);
      if (!reply) continue; // same command, same sequence number
      if (reply.code === REPLY.NAK && reply.data[0] === NAK_SEQUENCE && !resetOnce) {
        resetOnce = true;
        sequence = 0;
        attempt--;
        continue;
      }
      this.nextSequence.set(address, ((sequence % 3) + 1) as Sequence);
      return reply;
    }
    // The next exchange starts the session over, as the peripheral may have restarted.
    this.nextSequence.delete(address);
    throw new OsdpTimeoutError(address, `peripheral ${address} did not answer command 0x${code.toString(16)} (${this.retries + 1} tries, ${this.replyTimeoutMs} ms each)`);
  }

  private attempt(address: number, sequence: Sequence, code: number, data: Uint8Array): Promise<OsdpFrame | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(undefined);
      }, this.replyTimeoutMs);
      this.waiting = {
        address,
        sequence,
        resolve: (frame) => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(frame);
        },
      };
      const frame = encodeFrame({ address, reply: false, sequence, useCrc: this.useCrc, code, data });
      this.stream.write(Buffer.concat([Buffer.of(MARK), frame]));
    });
  }

  private receive(chunk: Buffer): void {
    for (const event of this.reader.push(chunk)) {
      if ('error' in event) {
        this.options.onBadFrame?.(event.error.reason, event.error.message);
        continue;
      }
      const frame = event.frame;
      const waiting = this.waiting;
      if (!frame.reply) continue; // our own command echoed on a two-wire bus
      if (!waiting || frame.address !== waiting.address || frame.sequence !== waiting.sequence) {
        this.options.onBadFrame?.('unexpected_reply', `reply 0x${frame.code.toString(16)} from ${frame.address} with sequence ${frame.sequence} matches no command waiting`);
        continue;
      }
      waiting.resolve(frame);
    }
  }
}
