import type { EventType } from '@gatehouse/contracts';

export interface DoorPolicy {
  /** how long the strike stays unlocked after access is granted or the exit button is pressed */
  unlockMs: number;
  /** how long the door may stay open after a legitimate opening before it counts as held open */
  heldOpenMs: number;
  /** credentials allowed through, as hex of the raw card data (upper case) */
  allowedCards: ReadonlySet<string>;
  /** a PIN that grants access like any other but raises a silent duress alarm */
  duressPin?: string;
  /** a PIN being typed is forgotten when no key comes for this long (default 10 s) */
  keypadTimeoutMs?: number;
}

const DEFAULT_KEYPAD_TIMEOUT_MS = 10_000;
/** Longest PIN kept while typing: more keys than this without Enter is not a PIN. */
const MAX_PIN_KEYS = 16;

/** What the door logic asks of the hardware, and reports to the gateway. */
export interface DoorActions {
  unlock(ms: number): void;
  event(type: EventType, detail?: { credential?: string; reason?: string }): void;
}

/**
 * The access decisions and alarms of one door, whatever protocol carries its reader and contacts:
 * a known card unlocks the strike for `unlockMs` (access granted) and an unknown one does not (access
 * denied); the exit button unlocks it too; the door opening while locked is a forced door; open longer
 * than `heldOpenMs` after a legitimate opening is a door held open. Time comes in from outside, so the
 * logic is the same in tests and on a site.
 */
export class DoorLogic {
  private unlockedUntil = 0;
  private open = false;
  private heldTimer: NodeJS.Timeout | undefined;
  private heldReported = false;
  private pin = '';
  private lastKeyAt = 0;

  constructor(
    private readonly policy: DoorPolicy,
    private readonly actions: DoorActions,
    private readonly now: () => number = Date.now,
  ) {}

  cardPresented(cardHex: string, masked: string): void {
    if (this.policy.allowedCards.has(cardHex.toUpperCase())) this.grant(masked);
    else this.actions.event('access_denied', { credential: masked, reason: 'credential not enrolled at this door' });
  }

  /**
   * Keys from the reader's keypad, however the reader groups them (one per report, or a whole PIN):
   * digits are kept until `#` (Enter) submits them; `*` clears what was typed; a pause longer than
   * `keypadTimeoutMs` forgets a PIN left half typed.
   */
  keypadEntered(keys: string): void {
    const now = this.now();
    if (this.pin !== '' && now - this.lastKeyAt > (this.policy.keypadTimeoutMs ?? DEFAULT_KEYPAD_TIMEOUT_MS)) this.pin = '';
    this.lastKeyAt = now;
    for (const key of keys) {
      if (key === '*') this.pin = '';
      else if (key === '#') {
        const pin = this.pin;
        this.pin = '';
        if (pin !== '') this.pinEntered(pin);
      } else if (this.pin.length < MAX_PIN_KEYS) this.pin += key;
    }
  }

  private pinEntered(pin: string): void {
    if (this.policy.duressPin !== undefined && pin === this.policy.duressPin) {
      // The door opens as for anyone, so that whoever forces the user sees nothing unusual.
      this.grant(undefined);
      this.actions.event('duress', { reason: 'duress PIN entered at the keypad' });
      return;
    }
    this.actions.event('access_denied', { reason: 'PIN not accepted' });
  }

  exitButtonPressed(): void {
    this.actions.event('exit_button');
    this.unlock();
  }

  doorContact(open: boolean): void {
    if (open === this.open) return;
    this.open = open;
    if (!open) {
      clearTimeout(this.heldTimer);
      this.heldTimer = undefined;
      this.heldReported = false;
      this.actions.event('door_closed');
      return;
    }
    if (this.now() > this.unlockedUntil) {
      this.actions.event('door_forced_open', { reason: 'the door opened while locked, without a valid credential or exit request' });
      return;
    }
    this.actions.event('door_opened');
    this.heldTimer = setTimeout(() => {
      if (this.open && !this.heldReported) {
        this.heldReported = true;
        this.actions.event('door_held_open', { reason: `open for more than ${Math.round(this.policy.heldOpenMs / 1000)} s` });
      }
    }, this.policy.heldOpenMs);
    this.heldTimer.unref?.();
  }

  /**
   * The strike was released from outside (a guard's command) for `ms`: opening the door within it is
   * legitimate. Returns what undoes it, should the device refuse the command.
   */
  releasedRemotely(ms: number): () => void {
    const before = this.unlockedUntil;
    this.unlockedUntil = Math.max(this.unlockedUntil, this.now() + ms);
    return () => {
      this.unlockedUntil = before;
    };
  }

  /** The strike was locked from outside: from now on, an opening door is forced. Returns what undoes it. */
  lockedRemotely(): () => void {
    const before = this.unlockedUntil;
    this.unlockedUntil = 0;
    return () => {
      this.unlockedUntil = before;
    };
  }

  tamper(active: boolean): void {
    if (active) this.actions.event('tamper', { reason: 'the reader reports its tamper switch open' });
  }

  stop(): void {
    clearTimeout(this.heldTimer);
  }

  private grant(masked: string | undefined): void {
    this.unlock();
    this.actions.event('access_granted', masked ? { credential: masked } : {});
  }

  private unlock(): void {
    this.unlockedUntil = this.now() + this.policy.unlockMs;
    this.actions.unlock(this.policy.unlockMs);
  }
}
