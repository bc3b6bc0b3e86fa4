import { SimulatedPeripheral } from '@gatehouse/firmware-sim';

/**
 * A simulated OSDP door (reader, door contact, strike) on TCP that is forced open every `everyMs` and
 * closes again after `openMs`: nobody badges, so every opening is a forced door for the gateway. It
 * notes when each opening happened: the ground truth for the door_forced_open events and alarms.
 */
export class ForcedDoor {
  readonly peripheral: SimulatedPeripheral;
  /** when the door was forced open, epoch ms, in order */
  readonly openings: number[] = [];
  private listening: { port: number; close: () => Promise<void> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private closing: (() => void) | undefined;

  constructor(
    readonly address: number,
    private readonly everyMs: number,
    private readonly openMs: number,
  ) {
    this.peripheral = new SimulatedPeripheral({ address });
  }

  /** Listens for the gateway; returns the port. */
  async listen(port = 0): Promise<number> {
    this.listening = await this.peripheral.listen(port);
    return this.listening.port;
  }

  /** Starts forcing the door: the first time after `everyMs`. */
  start(): void {
    this.timer = setInterval(() => this.force(), this.everyMs);
  }

  /** Stops forcing it; resolves once the door is closed again. */
  async stopForcing(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.closing) {
      clearTimeout(this.closeTimer);
      this.closing();
    }
  }

  async close(): Promise<void> {
    await this.stopForcing();
    await this.listening?.close();
    this.listening = undefined;
  }

  private force(): void {
    if (this.closing) return;
    this.openings.push(Date.now());
    this.peripheral.setDoorOpen(true);
    this.closing = () => {
      this.closing = undefined;
      this.peripheral.setDoorOpen(false);
    };
    this.closeTimer = setTimeout(() => this.closing?.(), this.openMs);
  }
}

export interface ForcedDoorComparison {
  /** times the simulated reader was forced open */
  produced: number;
  /** door_forced_open events stored */
  stored: number;
  /** openings with their own event, stamped after the opening and before the next one */
  matched: number;
  /**
   * openings without an event, made around a gateway kill: reported to a gateway that died before
   * journaling it, or made while it was down and still open when it came back (it reads the door's
   * state as it finds it)
   */
  missingInCrashWindows: number;
  /** openings without an event anywhere else: loss */
  missingElsewhere: number;
  /** events left over, stamped as a restarted gateway caught up with what the reader queued while it was down */
  reportedLate: number;
  /** events left over anywhere else: events for openings that never happened, or one opening twice */
  unexpected: number;
  examples: string[];
}

/** The gateway stamps an event when it reads the report, just after the opening: the same clock. */
const CLOCK_TOLERANCE_MS = 5;

/**
 * Walks the openings and the stored door_forced_open events in time order. A reader reports in order
 * and the gateway stamps a door's events strictly increasing, so the event of an opening is the first
 * one stamped after it and before the next opening. An opening without one is a loss unless it was
 * made in a crash window; an event left over is unexpected unless it was stamped in one.
 */
export function compareForcedWithStored(openings: readonly number[], storedTs: readonly number[], crashWindows: readonly { from: number; to: number }[]): ForcedDoorComparison {
  const inWindow = (ts: number) => crashWindows.some((w) => ts >= w.from && ts <= w.to);
  const opened = [...openings].sort((a, b) => a - b);
  const events = [...storedTs].sort((a, b) => a - b);
  const result: ForcedDoorComparison = { produced: opened.length, stored: events.length, matched: 0, missingInCrashWindows: 0, missingElsewhere: 0, reportedLate: 0, unexpected: 0, examples: [] };
  const iso = (ts: number) => new Date(ts).toISOString();
  const leftOver = (ts: number, why: string) => {
    if (inWindow(ts)) {
      result.reportedLate++;
    } else {
      result.unexpected++;
      if (result.examples.length < 5) result.examples.push(`door_forced_open stamped ${iso(ts)} ${why}`);
    }
  };
  let j = 0;
  for (const [i, at] of opened.entries()) {
    while (j < events.length && events[j]! < at - CLOCK_TOLERANCE_MS) leftOver(events[j++]!, 'matches no opening');
    const next = opened[i + 1] ?? Number.POSITIVE_INFINITY;
    if (j < events.length && events[j]! < next - CLOCK_TOLERANCE_MS) {
      result.matched++;
      j++;
    } else if (inWindow(at)) {
      result.missingInCrashWindows++;
    } else {
      result.missingElsewhere++;
      if (result.examples.length < 5) result.examples.push(`door forced open at ${iso(at)}: no door_forced_open stored`);
    }
  }
  while (j < events.length) leftOver(events[j++]!, 'after the last opening');
  return result;
}
