import { randomUUID } from 'node:crypto';
import type { DeviceDescriptor, EventType } from '@gatehouse/contracts';
import type { OsdpDeviceConfig } from '../../config.js';
import { DoorLogic } from '../access/door-logic.js';
import type { AccessControlDriver, DoorCommand, DoorCommandOutcome } from '../access/access-driver.js';
import type { DriverContext } from '../driver.js';
import type { OsdpLine } from './osdp-line.js';
import { OsdpTimeoutError, type OsdpLink, type SecureChannelSettings } from './osdp-link.js';
import { OsdpSecureChannelError } from './osdp-secure-session.js';
import { buzzerCommand, COMMAND, decodeReply, LED_COLOR, ledCommand, maskCredential, OsdpMessageError, OUTPUT_CONTROL, outputCommand, type OsdpReply } from './osdp-messages.js';

const DOOR_CONTACT = 0;
const EXIT_BUTTON = 1;
const DOOR_STRIKE = 0;
const SECURE_CHANNEL_RETRY_MS = 5000;

/**
 * A door whose reader and I/O speak OSDP to the gateway, the control panel: joins its line (TCP to a
 * serial-to-Ethernet converter or a simulator, or the gateway's own serial port, shared with the other
 * readers on the same RS-485 pair), identifies the peripheral, polls it every `pollIntervalMs`, turns
 * what it reports into the door's decisions and normalised events, and drives the strike. Reports the
 * peripheral offline after `offlineAfterMs` of silence and online when it is back.
 */
export class OsdpDoorDriver implements AccessControlDriver {
  readonly role = 'access' as const;
  readonly descriptor: DeviceDescriptor;
  private readonly door: DoorLogic;
  private link: OsdpLink | undefined;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastAnswerAt = Date.now();
  private online: boolean | undefined;
  private superviseTimer: NodeJS.Timeout | undefined;
  /** the reason of the NAKs while the reader refuses every poll; undefined once it answers properly */
  private refusing: string | undefined;
  private inputs: boolean[] = [];
  private polling = false;
  private lastEventTs = 0;
  private readonly secureChannel: SecureChannelSettings | undefined;

  constructor(
    private readonly config: OsdpDeviceConfig,
    private readonly ctx: DriverContext,
    private readonly line: OsdpLine,
  ) {
    const sc = config.secureChannel;
    this.secureChannel = sc
      ? { install: sc.install, ...(sc.scbk ? { scbk: Buffer.from(sc.scbk, 'hex') } : {}), ...(sc.masterKey ? { masterKey: Buffer.from(sc.masterKey, 'hex') } : {}) }
      : undefined;
    this.descriptor = { id: config.id, kind: 'access_panel', driver: config.driver, ...(config.name ? { name: config.name } : {}) };
    this.door = new DoorLogic(
      {
        unlockMs: config.door.unlockMs,
        heldOpenMs: config.door.heldOpenMs,
        allowedCards: new Set(config.door.cards.map((c) => c.toUpperCase())),
        ...(config.door.duressPin ? { duressPin: config.door.duressPin } : {}),
        keypadTimeoutMs: config.door.keypadTimeoutMs,
      },
      {
        unlock: (ms) => void this.unlock(ms),
        event: (type, detail) => {
          this.emit(type, detail);
          if (type === 'access_granted' || type === 'access_denied') void this.signal(type === 'access_granted');
        },
      },
    );
  }

  start(): void {
    // Offline is judged on the clock, not only when an exchange fails: over TCP a dropped connection
    // makes no exchange at all until the next reconnect attempt.
    this.superviseTimer = setInterval(() => this.checkOffline(), Math.max(50, Math.min(1000, Math.floor(this.config.offlineAfterMs / 4))));
    this.superviseTimer.unref?.();
    this.line.join({
      address: this.config.address,
      ...(this.secureChannel ? { secureChannel: this.secureChannel } : {}),
      connected: (link) => {
        this.link = link;
        void this.identify().then(() => this.schedulePoll(0));
      },
      disconnected: () => {
        clearTimeout(this.pollTimer);
        this.link = undefined;
        if (!this.stopped) this.checkOffline();
      },
      secureChannelEvent: (what, detail) => this.ctx.logger.info({ device: this.config.id, secureChannel: what }, `OSDP ${detail}`),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearInterval(this.superviseTimer);
    this.door.stop();
    this.line.leave(this.config.address);
    this.link = undefined;
  }

  /** A single-door reader: its one door is called 'door'. */
  doors(): string[] {
    return ['door'];
  }

  async executeDoorCommand(command: DoorCommand): Promise<DoorCommandOutcome> {
    const link = this.link;
    if (!link) return { ok: false, detail: `${this.config.id}: the reader is not connected` };
    const ms = command.durationMs ?? this.config.door.unlockMs;
    const control =
      command.action === 'open'
        ? { output: DOOR_STRIKE, control: OUTPUT_CONTROL.temporaryOnThenOff, timer100ms: Math.min(0xffff, Math.round(ms / 100)) }
        : { output: DOOR_STRIKE, control: OUTPUT_CONTROL.permanentOff, timer100ms: 0 };
    // Told first, so that the door opening as soon as the strike releases is not judged forced. If
    // the command may have reached the reader (no answer), the window stays: a person walking through
    // a door that did open must not raise a forced-door alarm.
    const restore = command.action === 'open' ? this.door.releasedRemotely(ms) : this.door.lockedRemotely();
    let answer: OsdpReply;
    try {
      answer = decodeReply(...codeAndData(await link.send(this.config.address, COMMAND.OUT, outputCommand([control]))));
      this.answered();
    } catch (err) {
      this.failure(err);
      return { ok: false, detail: `${this.config.id}: no answer to the strike command, the door may or may not have moved: ${(err as Error).message}`, doorState: 'unknown' };
    }
    if (answer.kind !== 'ack') {
      restore();
      return { ok: false, detail: `${this.config.id}: the reader refused the strike command (${answer.kind === 'nak' ? answer.reason : answer.kind})` };
    }
    const detail = command.action === 'open' ? `strike released for ${Math.round(ms / 1000)} s` : 'strike locked';
    // The command was taken; reading the output back only tells the guard more.
    try {
      const status = decodeReply(...codeAndData(await link.send(this.config.address, COMMAND.OSTAT)));
      const strike = status.kind === 'ostat' ? status.outputs[DOOR_STRIKE] : undefined;
      const doorOpen = this.inputs[DOOR_CONTACT] ?? false;
      return { ok: true, detail, doorState: doorOpen ? 'open' : strike === undefined ? 'unknown' : strike ? 'unlocked' : 'locked' };
    } catch (err) {
      this.failure(err);
      return { ok: true, detail, doorState: 'unknown' };
    }
  }

  private async identify(): Promise<void> {
    const link = this.link;
    if (!link) return;
    try {
      const id = await link.send(this.config.address, COMMAND.ID, Uint8Array.of(0));
      const reply = decodeReply(id.code, id.data);
      if (reply.kind === 'nak') {
        this.refused(reply.reason);
        return;
      }
      this.answered();
      if (reply.kind === 'pdid') this.ctx.logger.info({ device: this.config.id, vendor: reply.vendor, model: reply.model, serial: reply.serial, firmware: reply.firmware }, 'OSDP peripheral identified');
      // The door's state as it is now, so the first change is judged against the truth.
      const inputs = await link.send(this.config.address, COMMAND.ISTAT);
      const istat = decodeReply(inputs.code, inputs.data);
      if (istat.kind === 'istat') this.inputs = istat.inputs;
    } catch (err) {
      this.failure(err);
    }
  }

  private schedulePoll(delay = this.config.pollIntervalMs): void {
    clearTimeout(this.pollTimer);
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => void this.poll(), delay);
  }

  private async poll(): Promise<void> {
    const link = this.link;
    if (!link || this.polling) return;
    this.polling = true;
    let nextPollIn = this.config.pollIntervalMs;
    try {
      const frame = await link.send(this.config.address, COMMAND.POLL);
      const reply = decodeReply(frame.code, frame.data);
      // A reader that refuses every poll (it wants a secure channel the gateway does not use, say)
      // is not a working reader: its NAKs do not count as answers, and the refusal is the reason it
      // goes offline.
      if (reply.kind === 'nak') this.refused(reply.reason);
      else {
        this.answered();
        this.handle(reply);
      }
    } catch (err) {
      this.failure(err);
      if (err instanceof OsdpSecureChannelError && (err.reason === 'bad_cryptogram' || err.reason === 'handshake_refused')) {
        // The keys disagree: trying again every poll would only fill the log.
        nextPollIn = SECURE_CHANNEL_RETRY_MS;
      }
    } finally {
      this.polling = false;
      this.schedulePoll(nextPollIn);
    }
  }

  private handle(reply: OsdpReply): void {
    switch (reply.kind) {
      case 'card':
        this.door.cardPresented(Buffer.from(reply.data).toString('hex').toUpperCase(), maskCredential(reply.data));
        return;
      case 'keypad':
        this.door.keypadEntered(reply.keys);
        return;
      case 'istat': {
        const before = this.inputs;
        this.inputs = reply.inputs;
        if ((reply.inputs[EXIT_BUTTON] ?? false) && !(before[EXIT_BUTTON] ?? false)) this.door.exitButtonPressed();
        if ((reply.inputs[DOOR_CONTACT] ?? false) !== (before[DOOR_CONTACT] ?? false)) this.door.doorContact(reply.inputs[DOOR_CONTACT] ?? false);
        return;
      }
      case 'lstat':
        this.door.tamper(reply.tamper);
        return;
      case 'nak':
        this.protocolError('nak', `peripheral refused a command: ${reply.reason}`);
        return;
      default:
        return;
    }
  }

  private async unlock(ms: number): Promise<void> {
    const link = this.link;
    if (!link) {
      this.ctx.logger.error({ device: this.config.id }, 'cannot unlock the door: the peripheral is not connected');
      return;
    }
    try {
      await link.send(this.config.address, COMMAND.OUT, outputCommand([{ output: DOOR_STRIKE, control: OUTPUT_CONTROL.temporaryOnThenOff, timer100ms: Math.round(ms / 100) }]));
    } catch (err) {
      this.failure(err);
    }
  }

  /**
   * What the person at the door sees and hears: a green light and one beep for a grant, a red flash
   * and three beeps for a refusal, back to steady red after.
   */
  private async signal(granted: boolean): Promise<void> {
    const link = this.link;
    if (!link) return;
    const temporary = granted
      ? { onColor: LED_COLOR.green, offColor: LED_COLOR.green, on100ms: 10, off100ms: 0, timer100ms: 30 }
      : { onColor: LED_COLOR.red, offColor: LED_COLOR.off, on100ms: 2, off100ms: 2, timer100ms: 20 };
    try {
      await link.send(this.config.address, COMMAND.LED, ledCommand({ reader: 0, led: 0, temporary, permanentColor: LED_COLOR.red }));
      await link.send(this.config.address, COMMAND.BUZ, buzzerCommand(granted ? { reader: 0, on100ms: 2, off100ms: 0, count: 1 } : { reader: 0, on100ms: 1, off100ms: 1, count: 3 }));
    } catch (err) {
      this.failure(err);
    }
  }

  private emit(type: EventType, detail?: { credential?: string; reason?: string }): void {
    this.ctx.metrics.deviceEvents.inc({ type });
    // Strictly increasing per door, so that ordering by time keeps the order things happened in (a
    // grant and the duress alarm it raises fall in the same millisecond).
    this.lastEventTs = Math.max(Date.now(), this.lastEventTs + 1);
    this.ctx.sink.event({
      id: randomUUID(),
      device: this.config.id,
      type,
      ts: this.lastEventTs,
      point: 'door',
      ...(detail?.credential ? { credential: detail.credential } : {}),
      ...(detail?.reason ? { reason: detail.reason } : {}),
    });
  }

  /** A poll answered with NAK: counted each time, logged once per run of refusals. */
  private refused(reason: string): void {
    this.ctx.metrics.protocolErrors.inc({ protocol: 'osdp', reason: 'nak' });
    if (this.refusing === undefined) this.ctx.logger.warn({ device: this.config.id, reason }, 'OSDP peripheral refuses the poll (NAK); it counts as offline if it goes on');
    this.refusing = reason;
  }

  private answered(): void {
    this.refusing = undefined;
    this.lastAnswerAt = Date.now();
    this.ctx.metrics.deviceUp.set({ device: this.config.id }, 1);
    if (this.online === false) {
      this.emit('device_online', { reason: 'the peripheral answers again' });
      this.ctx.logger.info({ device: this.config.id }, 'OSDP peripheral back online');
    }
    this.online = true;
  }

  private failure(err: unknown): void {
    if (err instanceof OsdpMessageError) {
      this.protocolError(err.reason, err.message);
      return;
    }
    if (err instanceof OsdpSecureChannelError) {
      // A peripheral that proves the wrong key, or a reply whose MAC fails, is not trusted: it counts
      // as silent until the channel is secured again.
      this.ctx.metrics.protocolErrors.inc({ protocol: 'osdp', reason: `secure_channel_${err.reason}` });
      this.ctx.logger.error({ device: this.config.id, reason: err.reason }, `OSDP secure channel refused: ${err.message}`);
      this.checkOffline();
      return;
    }
    if (!(err instanceof OsdpTimeoutError)) this.ctx.logger.warn({ device: this.config.id, err: (err as Error).message }, 'OSDP exchange failed');
    this.checkOffline();
  }

  private checkOffline(): void {
    if (this.stopped || this.online === false || Date.now() - this.lastAnswerAt < this.config.offlineAfterMs) return;
    this.online = false;
    this.ctx.metrics.deviceUp.set({ device: this.config.id }, 0);
    const seconds = Math.round(this.config.offlineAfterMs / 1000);
    const reason = this.refusing !== undefined ? `refuses every command for ${seconds} s (NAK: ${this.refusing})` : `no answer for ${seconds} s`;
    this.emit('device_offline', { reason });
    this.ctx.logger.warn({ device: this.config.id, reason }, 'OSDP peripheral offline');
  }

  private protocolError(reason: string, detail: string): void {
    this.ctx.metrics.protocolErrors.inc({ protocol: 'osdp', reason });
    this.ctx.logger.warn({ device: this.config.id, reason, detail }, 'OSDP frame refused');
  }
}

function codeAndData(frame: { code: number; data: Uint8Array }): [number, Uint8Array] {
  return [frame.code, frame.data];
}
