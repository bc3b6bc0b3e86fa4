import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DEFAULT_BASE_KEY, PeripheralSession } from './peripheral-crypto.js';
import { CommandStream, replyFrame, type ReplySecurity, type WireCommand } from './osdp-wire.js';

const CMD = { POLL: 0x60, ID: 0x61, CAP: 0x62, LSTAT: 0x64, ISTAT: 0x65, OSTAT: 0x66, OUT: 0x68, LED: 0x69, BUZ: 0x6a, COMSET: 0x6e, KEYSET: 0x75, CHLNG: 0x76, SCRYPT: 0x77 } as const;
const RPL = { ACK: 0x40, NAK: 0x41, PDID: 0x45, PDCAP: 0x46, LSTATR: 0x48, ISTATR: 0x49, OSTATR: 0x4a, RAW: 0x50, KEYPAD: 0x53, COM: 0x54, CCRYPT: 0x76, RMAC_I: 0x78 } as const;
/** Security control block types. */
const SCS = { CHLNG: 0x11, CCRYPT: 0x12, SCRYPT: 0x13, RMAC_I: 0x14, CMD_MAC: 0x15, REPLY_MAC: 0x16, CMD_ENC: 0x17, REPLY_ENC: 0x18 } as const;
/** A peripheral drops its secure channel after this long without a secured command. */
const SECURE_CHANNEL_TIMEOUT_MS = 8000;
const NAK = { CHECK: 1, LENGTH: 2, UNKNOWN: 3, SEQUENCE: 4, NO_SECURE_CHANNEL: 5, SECURE_CHANNEL_CONDITION: 6 } as const;
const BROADCAST = 0x7f;

/** Inputs of the simulated door: 0 the door contact (1 = open), 1 the exit button (1 = pressed). */
export const DOOR_CONTACT = 0;
export const EXIT_BUTTON = 1;
/** Output 0 drives the door strike. */
export const DOOR_STRIKE = 0;

export interface SimulatedPeripheralOptions {
  address: number;
  /** IEEE OUI of the vendor, 3 bytes */
  vendor?: [number, number, number];
  serial?: number;
  /**
   * The secure channel. Absent: the peripheral has none (NAK 5 to a challenge). `baseKey` is its
   * installed SCBK; without one it is in its factory state and takes only SCBK-D, until a control
   * panel gives it a key with osdp_KEYSET. `required` refuses every command outside the channel.
   */
  secureChannel?: { baseKey?: Buffer; required?: boolean; random?: () => Buffer };
}

type QueuedReply = { code: number; data: Buffer };

/**
 * An OSDP peripheral as found on a door: a card reader with keypad, LED and buzzer, the door contact
 * and exit button on its inputs, the strike on its output, and a tamper switch. It follows the link
 * rules a control panel relies on: sequence 0 restarts the session, a repeated sequence number gets the
 * last reply again byte for byte, a wrong one gets NAK 4, a frame with a bad check gets NAK 1; on POLL
 * it answers ACK or one queued report (card, keypad, input or tamper change).
 */
export class SimulatedPeripheral {
  readonly address: number;
  private readonly vendor: [number, number, number];
  private readonly serial: number;
  private lastSequence: number | undefined;
  private lastReply: Buffer | undefined;
  private readonly queue: QueuedReply[] = [];
  private inputs = [false, false];
  private outputs = [false];
  private strikeTimer: NodeJS.Timeout | undefined;
  private tamper = false;
  private silentUntil = 0;
  /** every command answered, for tests and the scenario log */
  readonly received: { code: number; data: Buffer }[] = [];
  private readonly secureChannelSupported: boolean;
  private readonly secureChannelRequired: boolean;
  private readonly randomB: () => Buffer;
  private baseKey: Buffer | undefined;
  private session: PeripheralSession | undefined;
  private lastSecuredAt = 0;
  /** commands that arrived with a MAC that did not check, or outside a channel that is required */
  securityRefusals = 0;
  /** what the reader showed and sounded: LED colours (0 off, 1 red, 2 green) and beep counts, in order */
  readonly signals: ({ kind: 'led'; color: number } | { kind: 'beeps'; count: number })[] = [];
  /** called when the strike output changes (the door unlocks or locks) */
  onStrike: ((energised: boolean) => void) | undefined;

  constructor(options: SimulatedPeripheralOptions) {
    this.address = options.address;
    this.vendor = options.vendor ?? [0x5c, 0x26, 0x23];
    this.serial = options.serial ?? 0x00c0ffee;
    this.secureChannelSupported = options.secureChannel !== undefined;
    this.secureChannelRequired = options.secureChannel?.required ?? false;
    this.baseKey = options.secureChannel?.baseKey;
    this.randomB = options.secureChannel?.random ?? (() => randomBytes(8));
  }

  /** The secure channel key the peripheral holds (given at installation); undefined in the factory state. */
  get installedKey(): Buffer | undefined {
    return this.baseKey;
  }

  /** Whether a control panel has an established secure channel with the peripheral. */
  get secured(): boolean {
    return this.session?.established === true && Date.now() - this.lastSecuredAt < SECURE_CHANNEL_TIMEOUT_MS;
  }

  /** The client UID sent in osdp_CCRYPT: vendor, model, serial number. */
  get clientUid(): Buffer {
    const uid = Buffer.alloc(8);
    uid.set(this.vendor, 0);
    uid[3] = 1;
    uid.writeUInt32LE(this.serial, 4);
    return uid;
  }

  // Scenarios -------------------------------------------------------------------------------------

  /** A card is presented: its raw bits are reported on the next POLL. */
  presentCard(data: Uint8Array, bits = data.length * 8): void {
    const out = Buffer.alloc(4 + data.length);
    out[0] = 0; // reader 0
    out[1] = 1; // format: Wiegand bits
    out.writeUInt16LE(bits, 2);
    out.set(data, 4);
    this.queue.push({ code: RPL.RAW, data: out });
  }

  /**
   * Keys pressed on the keypad (`*` clear, `#` Enter), reported in one osdp_KEYPAD or, as many readers
   * do, one report per key.
   */
  pressKeys(keys: string, options: { onePerReport?: boolean } = {}): void {
    // OSDP's keypad codes: 0x7F for `*`, 0x0D for `#`, ASCII for digits.
    const codes = [...keys].map((k) => (k === '*' ? 0x7f : k === '#' ? 0x0d : k.charCodeAt(0)));
    const reports = options.onePerReport ? codes.map((c) => [c]) : [codes];
    for (const r of reports) this.queue.push({ code: RPL.KEYPAD, data: Buffer.from([0, r.length, ...r]) });
  }

  /** The door contact opens or closes (open without the strike energised is a forced door). */
  setDoorOpen(open: boolean): void {
    this.setInput(DOOR_CONTACT, open);
  }

  pressExitButton(): void {
    this.setInput(EXIT_BUTTON, true);
    this.setInput(EXIT_BUTTON, false);
  }

  setTamper(tamper: boolean): void {
    if (this.tamper === tamper) return;
    this.tamper = tamper;
    this.queue.push({ code: RPL.LSTATR, data: Buffer.from([tamper ? 1 : 0, 0]) });
  }

  /** A power cycle: the session is forgotten, the next command must carry sequence 0. */
  restart(): void {
    this.lastSequence = undefined;
    this.lastReply = undefined;
    this.session = undefined;
  }

  /** Answers nothing for `ms` (power loss, cable cut). */
  goSilent(ms: number): void {
    this.silentUntil = Date.now() + ms;
  }

  get strikeEnergised(): boolean {
    return this.outputs[DOOR_STRIKE] ?? false;
  }

  private setInput(index: number, value: boolean): void {
    this.inputs[index] = value;
    this.queue.push({ code: RPL.ISTATR, data: Buffer.from(this.inputs.map((i) => (i ? 1 : 0))) });
  }

  // The link ---------------------------------------------------------------------------------------

  /** Handles one decoded command; returns the reply bytes, or nothing when it must stay silent. */
  handle(command: WireCommand): Buffer | undefined {
    if (command.address !== this.address && command.address !== BROADCAST) return undefined;
    if (Date.now() < this.silentUntil) return undefined;
    if (command.sequence !== 0 && command.sequence === this.lastSequence && this.lastReply) return this.lastReply;
    if (command.sequence !== 0 && this.lastSequence !== undefined && command.sequence !== (this.lastSequence % 3) + 1) {
      return this.reply(command, RPL.NAK, Buffer.from([NAK.SEQUENCE]), false);
    }
    if (command.sequence !== 0 && this.lastSequence === undefined) return this.reply(command, RPL.NAK, Buffer.from([NAK.SEQUENCE]), false);
    if (command.securityBlock) return this.handleSecured(command);
    if (this.session && this.secured) this.session = undefined; // a plain command ends the secure channel
    if (this.secureChannelRequired) {
      this.securityRefusals++;
      return this.reply(command, RPL.NAK, Buffer.from([NAK.SECURE_CHANNEL_CONDITION]), true);
    }
    this.received.push({ code: command.code, data: command.data });
    const { code, data } = this.answer(command);
    return this.reply(command, code, data, true);
  }

  /** The handshake, and commands inside the secure channel: MAC checked, data decrypted, reply sealed. */
  private handleSecured(command: WireCommand): Buffer {
    const block = command.securityBlock!;
    const nak = (reason: number) => this.reply(command, RPL.NAK, Buffer.from([reason]), true);
    if (!this.secureChannelSupported) return nak(NAK.NO_SECURE_CHANNEL);
    switch (block.type) {
      case SCS.CHLNG: {
        const useOwnKey = block.data[0] === 1;
        const key = useOwnKey ? this.baseKey : this.baseKey ? undefined : DEFAULT_BASE_KEY;
        if (!key || command.data.length !== 8) return nak(NAK.SECURE_CHANNEL_CONDITION);
        this.session = new PeripheralSession(key, Buffer.from(command.data), this.randomB());
        const data = Buffer.concat([this.clientUid, this.session.rndB, this.session.clientCryptogram]);
        return this.reply(command, RPL.CCRYPT, data, true, { block: { type: SCS.CCRYPT, data: Uint8Array.of(useOwnKey ? 1 : 0) } });
      }
      case SCS.SCRYPT: {
        const session = this.session;
        if (!session || session.established || command.data.length !== 16 || !timingSafeEqual(session.expectedServerCryptogram(), command.data)) {
          this.session = undefined;
          return nak(NAK.SECURE_CHANNEL_CONDITION);
        }
        const rmac = session.initialRmac(command.data);
        session.chain = rmac;
        session.established = true;
        this.lastSecuredAt = Date.now();
        return this.reply(command, RPL.RMAC_I, rmac, true, { block: { type: SCS.RMAC_I, data: Uint8Array.of(1) } });
      }
      case SCS.CMD_MAC:
      case SCS.CMD_ENC: {
        const session = this.session;
        if (!session || !this.secured || !command.mac || !command.frame) {
          this.session = undefined;
          this.securityRefusals++;
          return nak(NAK.SECURE_CHANNEL_CONDITION);
        }
        const checkBytes = command.useCrc ? 2 : 1;
        const commandMac = session.mac(session.chain, command.frame.subarray(0, command.frame.length - checkBytes - 4));
        const plain = block.type === SCS.CMD_ENC ? session.decrypt(session.chain, command.data) : command.data;
        if (!timingSafeEqual(commandMac.subarray(0, 4), command.mac) || !plain) {
          this.session = undefined;
          this.securityRefusals++;
          return nak(NAK.SECURE_CHANNEL_CONDITION);
        }
        this.lastSecuredAt = Date.now();
        this.received.push({ code: command.code, data: plain });
        const { code, data } = command.code === CMD.KEYSET ? this.keyset(plain) : this.answer({ ...command, data: plain });
        const encrypted = data.length > 0;
        const payload = encrypted ? session.encrypt(commandMac, data) : data;
        return this.reply(command, code, payload, true, {
          block: { type: encrypted ? SCS.REPLY_ENC : SCS.REPLY_MAC, data: new Uint8Array() },
          mac: (frameBeforeMac) => {
            session.chain = session.mac(commandMac, frameBeforeMac);
            return session.chain;
          },
        });
      }
      default:
        return nak(NAK.SECURE_CHANNEL_CONDITION);
    }
  }

  /** osdp_KEYSET: the peripheral's own secure channel key, from now on. */
  private keyset(data: Buffer): QueuedReply {
    if (data.length !== 18 || data[0] !== 1 || data[1] !== 16) return { code: RPL.NAK, data: Buffer.from([NAK.LENGTH]) };
    this.baseKey = Buffer.from(data.subarray(2));
    return { code: RPL.ACK, data: Buffer.alloc(0) };
  }

  /** A command that failed its CRC or checksum. */
  handleBadCheck(bad: { address: number; sequence: number; useCrc: boolean }): Buffer | undefined {
    if (bad.address !== this.address || Date.now() < this.silentUntil) return undefined;
    return replyFrame(this.address, bad.sequence, bad.useCrc, RPL.NAK, Buffer.from([NAK.CHECK]));
  }

  private reply(command: WireCommand, code: number, data: Buffer, remember: boolean, security?: ReplySecurity): Buffer {
    const frame = replyFrame(this.address, command.sequence, command.useCrc, code, data, security);
    if (remember) {
      this.lastSequence = command.sequence;
      this.lastReply = frame;
    }
    return frame;
  }

  private answer(command: WireCommand): QueuedReply {
    const ack = { code: RPL.ACK, data: Buffer.alloc(0) };
    switch (command.code) {
      case CMD.POLL:
        return this.queue.shift() ?? ack;
      case CMD.ID: {
        const data = Buffer.alloc(12);
        data.set(this.vendor, 0);
        data[3] = 1; // model
        data[4] = 1; // version
        data.writeUInt32LE(this.serial, 5);
        data.set([1, 4, 0], 9); // firmware 1.4.0
        return { code: RPL.PDID, data };
      }
      case CMD.CAP:
        // contact status monitoring: 2 inputs; output control: 1; card data format: bits; reader LED: 1;
        // audible output: 1; text output: none; check character: CRC; communication security: none.
        return { code: RPL.PDCAP, data: Buffer.from([1, 2, 2, 2, 2, 1, 3, 1, 0, 4, 2, 1, 5, 2, 1, 8, 1, 0, 9, 0, 0]) };
      case CMD.LSTAT:
        return { code: RPL.LSTATR, data: Buffer.from([this.tamper ? 1 : 0, 0]) };
      case CMD.ISTAT:
        return { code: RPL.ISTATR, data: Buffer.from(this.inputs.map((i) => (i ? 1 : 0))) };
      case CMD.OSTAT:
        return { code: RPL.OSTATR, data: Buffer.from(this.outputs.map((o) => (o ? 1 : 0))) };
      case CMD.OUT:
        if (command.data.length === 0 || command.data.length % 4 !== 0) return { code: RPL.NAK, data: Buffer.from([NAK.LENGTH]) };
        for (let i = 0; i < command.data.length; i += 4) this.output(command.data[i]!, command.data[i + 1]!, command.data.readUInt16LE(i + 2));
        return ack;
      case CMD.LED:
        if (command.data.length === 0 || command.data.length % 14 !== 0) return { code: RPL.NAK, data: Buffer.from([NAK.LENGTH]) };
        // The temporary colour when one is set (control code 2), else the permanent one.
        this.signals.push({ kind: 'led', color: command.data[2] === 2 ? command.data[5]! : command.data[12]! });
        return ack;
      case CMD.BUZ:
        if (command.data.length !== 5) return { code: RPL.NAK, data: Buffer.from([NAK.LENGTH]) };
        this.signals.push({ kind: 'beeps', count: command.data[4]! });
        return ack;
      case CMD.COMSET:
        if (command.data.length !== 5) return { code: RPL.NAK, data: Buffer.from([NAK.LENGTH]) };
        return { code: RPL.COM, data: Buffer.from(command.data) };
      case CMD.CHLNG:
      case CMD.SCRYPT:
      case CMD.KEYSET:
        // Without their security block, or outside a secure channel.
        return { code: RPL.NAK, data: Buffer.from([this.secureChannelSupported ? NAK.SECURE_CHANNEL_CONDITION : NAK.NO_SECURE_CHANNEL]) };
      default:
        return { code: RPL.NAK, data: Buffer.from([NAK.UNKNOWN]) };
    }
  }

  private output(index: number, control: number, timer100ms: number): void {
    if (index !== DOOR_STRIKE) return;
    clearTimeout(this.strikeTimer);
    const set = (on: boolean) => {
      if (this.outputs[DOOR_STRIKE] === on) return;
      this.outputs[DOOR_STRIKE] = on;
      this.onStrike?.(on);
    };
    if (control === 1) set(false);
    else if (control === 2) set(true);
    else if (control === 5) {
      set(true);
      this.strikeTimer = setTimeout(() => set(false), timer100ms * 100).unref();
    } else if (control === 6) {
      set(false);
      this.strikeTimer = setTimeout(() => set(true), timer100ms * 100).unref();
    }
  }

  /** Serves the peripheral on any byte stream (a TCP socket, a pty). */
  attach(stream: Socket | NodeJS.ReadWriteStream): void {
    const commands = new CommandStream();
    stream.on('data', (chunk: Buffer) => {
      for (const event of commands.push(chunk)) {
        const reply = 'command' in event ? this.handle(event.command) : 'badCheck' in event ? this.handleBadCheck(event.badCheck) : undefined;
        if (reply) stream.write(Buffer.concat([Buffer.from([0xff]), reply]));
      }
    });
  }

  /** Listens for a control panel on TCP (as behind a serial-to-Ethernet converter). */
  async listen(port = 0, host = '127.0.0.1'): Promise<{ port: number; server: Server; close: () => Promise<void> }> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      this.attach(socket);
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    const address = server.address();
    return {
      port: typeof address === 'object' && address ? address.port : port,
      server,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
  }
}

/**
 * Several peripherals multi-dropped on one RS-485 pair behind one serial-to-Ethernet converter port:
 * every byte reaches every peripheral, and each answers only what is addressed to it.
 */
export async function listenOsdpBus(peripherals: readonly SimulatedPeripheral[], port = 0, host = '127.0.0.1'): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    for (const peripheral of peripherals) peripheral.attach(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

