import type { FrameDamage } from './modbus/modbus-unit.js';

/**
 * Faults a simulated device can be made to show, for tests and demos:
 * - silent: no answer at all (a device offline, unplugged, or with a wrong address)
 * - slow: every answer delayed by `delayMs`
 * - exception: every read answered with Modbus exception `code`
 * - stuck: the registers freeze at their current values
 * - counter_reset: the counter register restarts from zero (meter replaced); happens once
 * - spike: the counter registers of the next `count` answers jump by `amount`
 * - garbage | short_frame | wrong_unit | bad_crc: the next `count` answer frames are damaged
 * A fault with `forMs` clears itself after that long; without, it stays until cleared.
 */
export type FaultSpec =
  | { kind: 'silent'; forMs?: number }
  | { kind: 'slow'; delayMs: number; forMs?: number }
  | { kind: 'exception'; code: number; forMs?: number }
  | { kind: 'stuck'; forMs?: number }
  | { kind: 'counter_reset' }
  | { kind: 'spike'; amount: number; count?: number }
  | { kind: FrameDamage; count?: number };

export const FAULT_KINDS = ['silent', 'slow', 'exception', 'stuck', 'counter_reset', 'spike', 'garbage', 'short_frame', 'wrong_unit', 'bad_crc'] as const;

interface Timed<T> {
  value: T;
  until: number;
}

/** The faults currently active on one simulated device. */
export class FaultState {
  private silent: Timed<true> | undefined;
  private slow: Timed<number> | undefined;
  private exception: Timed<number> | undefined;
  private stuck: Timed<true> | undefined;
  private spike: { amount: number; remaining: number } | undefined;
  private damage: { kind: FrameDamage; remaining: number } | undefined;

  constructor(
    private readonly now: () => number,
    private readonly onCounterReset: () => void,
  ) {}

  inject(fault: FaultSpec): void {
    const until = 'forMs' in fault && fault.forMs !== undefined ? this.now() + fault.forMs : Number.POSITIVE_INFINITY;
    switch (fault.kind) {
      case 'silent':
        this.silent = { value: true, until };
        break;
      case 'slow':
        this.slow = { value: fault.delayMs, until };
        break;
      case 'exception':
        this.exception = { value: fault.code, until };
        break;
      case 'stuck':
        this.stuck = { value: true, until };
        break;
      case 'counter_reset':
        this.onCounterReset();
        break;
      case 'spike':
        this.spike = { amount: fault.amount, remaining: fault.count ?? 1 };
        break;
      default:
        this.damage = { kind: fault.kind, remaining: fault.count ?? 1 };
    }
  }

  clear(): void {
    this.silent = this.slow = this.exception = this.stuck = undefined;
    this.spike = undefined;
    this.damage = undefined;
  }

  private active<T>(fault: Timed<T> | undefined): T | undefined {
    return fault && this.now() < fault.until ? fault.value : undefined;
  }

  get isSilent(): boolean {
    return this.active(this.silent) !== undefined;
  }

  get exceptionCode(): number | undefined {
    return this.active(this.exception);
  }

  get delayMs(): number {
    return this.active(this.slow) ?? 0;
  }

  get isStuck(): boolean {
    return this.active(this.stuck) !== undefined;
  }

  takeSpike(): number {
    if (!this.spike || this.spike.remaining <= 0) return 0;
    this.spike.remaining--;
    return this.spike.amount;
  }

  takeDamage(): FrameDamage | undefined {
    if (!this.damage || this.damage.remaining <= 0) return undefined;
    this.damage.remaining--;
    return this.damage.kind;
  }
}
