import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameReader, MARK, type OsdpFrame, type Sequence } from './osdp-frame.js';
import { COMMAND, REPLY } from './osdp-messages.js';
import { clientCryptogram, derivePeripheralKey, deriveSessionKeys, initialRmac, SCBK_D, serverCryptogram } from './osdp-secure-channel.js';
import { OsdpSecureChannelError, SCS, SecureSession } from './osdp-secure-session.js';

/** How a control panel secures its line to one peripheral. */
export interface SecureChannelSettings {
  /** the peripheral's own secure channel base key (16 bytes) … */
  scbk?: Uint8Array;
  /** … or the site's master key, from which each peripheral's key is derived with its client UID */
  masterKey?: Uint8Array;
  /**
   * A peripheral that refuses its key but accepts the default SCBK-D (factory state, or just
   * replaced) is given its key with osdp_KEYSET, then secured with it. Off, such a peripheral stays
   * refused: install mode is for commissioning.
   */
  install?: boolean;
  /** RND.A of each handshake; random unless a test needs the published values */
  random?: () => Uint8Array;
}

export interface OsdpLinkOptions {
  /** how long to wait for a reply before sending the command again (the standard's 200 ms) */
  replyTimeoutMs?: number;
  /** how many times a command is sent again before the peripheral counts as not answering */
  retries?: number;
  /** CRC-16 (default) or the one-byte checksum of older peripherals */
  useCrc?: boolean;
  /** the peripherals (by address) whose every command and reply go over the secure channel */
  secureChannels?: ReadonlyMap<number, SecureChannelSettings>;
  /** told about every frame that failed its check or made no sense, for the log and the metrics */
  onBadFrame?: (reason: string, detail: string) => void;
  /** told when a secure channel is established, or a key installed */
  onSecureChannel?: (address: number, what: 'established' | 'key_installed', detail: string) => void;
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

const NAK_MESSAGE_CHECK = 1;
const NAK_SEQUENCE = 4;
/** how long a busy peripheral is given before the command goes again */
const BUSY_RETRY_MS = 20;
/** NAK reasons of a peripheral that has no secure channel with us (any more): handshake again. */
const NAK_SECURE_CHANNEL = new Set([5, 6]);
const KEY_TYPE_SCBK = 0x01;

type Received = { frame: OsdpFrame; bytes: Buffer };
type Sealed = { bytes: Buffer; commandMac?: Buffer };

/**
 * The control panel's end of one OSDP line (RS-485 or TCP): one command at a time, each matched with
 * the reply from the addressed peripheral carrying the same sequence number. A lost command or reply is
 * handled the way the standard intends: the command goes again with the same sequence number (and the
 * same bytes), and the peripheral, having seen that number, sends its last reply again unchanged, so a
 * card read in a lost reply is delivered, once. A peripheral that lost track (NAK 4) starts over from
 * sequence 0.
 *
 * Peripherals listed in `secureChannels` are secured before their first command: challenge, both
 * cryptograms, initial R-MAC; from then on every command and reply carries a chained MAC and every data
 * field is encrypted. A reply whose MAC does not check, or a peripheral that lost the session, makes
 * the link drop the session and secure it again; a reply that fails the check is never handed on.
 */
export class OsdpLink {
  private readonly reader = new FrameReader();
  private readonly nextSequence = new Map<number, Sequence>();
  private readonly sessions = new Map<number, SecureSession>();
  private queue: Promise<unknown> = Promise.resolve();
  private waiting: { address: number; sequence: Sequence; resolve: (received: Received) => void } | undefined;
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

  /** Sends a command to the peripheral at `address` and resolves with its reply frame (decrypted, when secured). */
  send(address: number, code: number, data: Uint8Array = new Uint8Array()): Promise<OsdpFrame> {
    const run = this.queue.catch(() => undefined).then(() => this.exchange(address, code, data));
    this.queue = run;
    return run;
  }

  /** Starts the peripheral's session over (sequence 0, secure channel again), e.g. after it was offline. */
  reset(address: number): void {
    this.nextSequence.delete(address);
    this.sessions.delete(address);
  }

  /** Whether commands to the peripheral currently go over an established secure channel. */
  isSecured(address: number): boolean {
    return this.sessions.has(address);
  }

  private async exchange(address: number, code: number, data: Uint8Array): Promise<OsdpFrame> {
    const settings = this.options.secureChannels?.get(address);
    if (!settings) return (await this.transact(address, code, data, this.plain(address, code, data))).frame;
    for (let attempt = 0; ; attempt++) {
      if (!this.sessions.has(address)) await this.secure(address, settings);
      const session = this.sessions.get(address)!;
      const { frame, bytes, sealed } = await this.transact(address, code, data, (sequence) => session.seal(address, sequence, this.useCrc, code, data));
      if (!frame.securityBlock && frame.code === REPLY.NAK && NAK_SECURE_CHANNEL.has(frame.data[0] ?? 0) && attempt === 0) {
        // The peripheral restarted or timed its session out: it refused the command unexecuted.
        this.sessions.delete(address);
        continue;
      }
      try {
        return session.open(frame, bytes, sealed.commandMac!);
      } catch (err) {
        this.sessions.delete(address);
        throw err;
      }
    }
  }

  private plain(address: number, code: number, data: Uint8Array, securityBlock?: { type: number; data: Uint8Array }): (sequence: Sequence) => Sealed {
    return (sequence) => ({ bytes: encodeFrame({ address, reply: false, sequence, useCrc: this.useCrc, code, data, ...(securityBlock ? { securityBlock } : {}) }) });
  }

  /** One command until its reply, resent with the same sequence number and bytes when the reply is lost. */
  private async transact(address: number, code: number, data: Uint8Array, seal: (sequence: Sequence) => Sealed): Promise<Received & { sealed: Sealed }> {
    let sequence = this.nextSequence.get(address) ?? 0;
    let sealed = seal(sequence);
    let resetOnce = false;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const reply = await this.attempt(address, sequence, sealed.bytes);
      if (!reply) continue; // same command, same sequence number
      if (!reply.frame.securityBlock && (reply.frame.code === REPLY.BUSY || (reply.frame.code === REPLY.NAK && reply.frame.data[0] === NAK_MESSAGE_CHECK))) {
        // Busy, or the command arrived damaged: it was not executed, and goes again unchanged.
        if (reply.frame.code === REPLY.BUSY) await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
        continue;
      }
      if (reply.frame.code === REPLY.NAK && !reply.frame.securityBlock && reply.frame.data[0] === NAK_SEQUENCE && !resetOnce) {
        resetOnce = true;
        sequence = 0;
        sealed = seal(sequence);
        attempt--;
        continue;
      }
      this.nextSequence.set(address, ((sequence % 3) + 1) as Sequence);
      return { ...reply, sealed };
    }
    // The next exchange starts the session over, as the peripheral may have restarted.
    this.reset(address);
    throw new OsdpTimeoutError(address, `peripheral ${address} did not answer command 0x${code.toString(16)} (${this.retries + 1} tries, ${this.replyTimeoutMs} ms each)`);
  }

  /** The secure channel handshake, with the peripheral's key, or (install) with SCBK-D and then osdp_KEYSET. */
  private async secure(address: number, settings: SecureChannelSettings): Promise<void> {
    const withOwnKey = await this.handshake(address, settings, true);
    if (!('error' in withOwnKey)) return;
    if (!settings.install) throw withOwnKey.error;
    const withDefaultKey = await this.handshake(address, settings, false);
    if ('error' in withDefaultKey) {
      throw new OsdpSecureChannelError(withDefaultKey.error.reason, `${withOwnKey.error.message}; with the default key SCBK-D too: ${withDefaultKey.error.message}`);
    }
    const key = this.peripheralKey(settings, withDefaultKey.clientUid);
    const keyset = await this.exchangeSecured(address, COMMAND.KEYSET, Buffer.concat([Buffer.of(KEY_TYPE_SCBK, key.length), key]));
    if (keyset.code !== REPLY.ACK) throw new OsdpSecureChannelError('handshake_refused', `peripheral ${address} refused its new key (reply 0x${keyset.code.toString(16)})`);
    this.options.onSecureChannel?.(address, 'key_installed', 'the peripheral took its secure channel key (osdp_KEYSET)');
    const afterInstall = await this.handshake(address, settings, true);
    if ('error' in afterInstall) throw afterInstall.error;
  }

  /** Resolves with the error when the peripheral refused this key; rejects when it does not answer. */
  private async handshake(address: number, settings: SecureChannelSettings, useOwnKey: boolean): Promise<{ clientUid: Uint8Array } | { error: OsdpSecureChannelError }> {
    this.sessions.delete(address);
    const rndA = Buffer.from(settings.random?.() ?? randomBytes(8));
    const keyFlag = useOwnKey ? 1 : 0;
    const challenge = await this.transact(address, COMMAND.CHLNG, rndA, this.plain(address, COMMAND.CHLNG, rndA, { type: SCS.CHLNG, data: Uint8Array.of(keyFlag) }));
    if (challenge.frame.code !== REPLY.CCRYPT || challenge.frame.securityBlock?.type !== SCS.CCRYPT || challenge.frame.data.length !== 32) {
      const nak = challenge.frame.code === REPLY.NAK ? ` (NAK ${challenge.frame.data[0]})` : '';
      return { error: new OsdpSecureChannelError('handshake_refused', `peripheral ${address} answered the challenge with reply 0x${challenge.frame.code.toString(16)}${nak}, not osdp_CCRYPT`) };
    }
    const clientUid = Uint8Array.from(challenge.frame.data.subarray(0, 8));
    const rndB = challenge.frame.data.subarray(8, 16);
    const keys = deriveSessionKeys(useOwnKey ? this.peripheralKey(settings, clientUid) : SCBK_D, rndA);
    if (!timingSafeEqual(clientCryptogram(keys, rndA, rndB), challenge.frame.data.subarray(16, 32))) {
      const which = useOwnKey ? 'key than the one configured' : 'key than SCBK-D';
      return { error: new OsdpSecureChannelError('bad_cryptogram', `peripheral ${address} (cUID ${Buffer.from(clientUid).toString('hex')}) proved a different ${which}`) };
    }
    const cryptogram = serverCryptogram(keys, rndA, rndB);
    const answer = await this.transact(address, COMMAND.SCRYPT, cryptogram, this.plain(address, COMMAND.SCRYPT, cryptogram, { type: SCS.SCRYPT, data: Uint8Array.of(keyFlag) }));
    if (answer.frame.code !== REPLY.RMAC_I || answer.frame.securityBlock?.type !== SCS.RMAC_I || answer.frame.data.length !== 16) {
      return { error: new OsdpSecureChannelError('handshake_refused', `peripheral ${address} refused the control panel's cryptogram (reply 0x${answer.frame.code.toString(16)})`) };
    }
    const expected = initialRmac(keys, cryptogram);
    if (!timingSafeEqual(expected, answer.frame.data)) {
      return { error: new OsdpSecureChannelError('bad_cryptogram', `peripheral ${address} sent an initial R-MAC that does not match the session keys`) };
    }
    this.sessions.set(address, new SecureSession(keys, expected));
    this.options.onSecureChannel?.(address, 'established', useOwnKey ? 'secured with the peripheral key' : 'secured with SCBK-D for installation');
    return { clientUid };
  }

  private async exchangeSecured(address: number, code: number, data: Uint8Array): Promise<OsdpFrame> {
    const session = this.sessions.get(address)!;
    const { frame, bytes, sealed } = await this.transact(address, code, data, (sequence) => session.seal(address, sequence, this.useCrc, code, data));
    return session.open(frame, bytes, sealed.commandMac!);
  }

  private peripheralKey(settings: SecureChannelSettings, clientUid: Uint8Array): Buffer {
    if (settings.scbk) return Buffer.from(settings.scbk);
    if (settings.masterKey) return derivePeripheralKey(settings.masterKey, clientUid);
    throw new Error('a secure channel needs the peripheral key (scbk) or the master key');
  }

  private attempt(address: number, sequence: Sequence, bytes: Buffer): Promise<Received | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(undefined);
      }, this.replyTimeoutMs);
      this.waiting = {
        address,
        sequence,
        resolve: (received) => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(received);
        },
      };
      this.stream.write(Buffer.concat([Buffer.of(MARK), bytes]));
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
      waiting.resolve({ frame, bytes: event.bytes });
    }
  }
}
