import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { DeviceDriver } from './driver.js';

/**
 * What drivers keep across restarts (the last trusted counter values), in one JSON file written
 * atomically. Without it, a meter swapped while the gateway was down would look like a huge
 * negative consumption to whoever compares the readings before and after.
 */
export class DriverStateFile {
  private lastWritten = '';
  private saving: Promise<void> | undefined;

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  restore(drivers: readonly DeviceDriver[]): void {
    if (!existsSync(this.file)) return;
    let state: Record<string, unknown>;
    try {
      state = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      this.logger.warn({ file: this.file, err: (err as Error).message }, 'device state unreadable; counters start from their next reading');
      return;
    }
    for (const driver of drivers) {
      const saved = state[driver.descriptor.id];
      if (saved !== undefined) driver.restoreState?.(saved);
    }
  }

  /**
   * Saves the drivers' state as it is now, once `durable` has made everything they emitted up to now
   * durable: a saved position (a panel's last serial number) never runs ahead of the journal, or a crash
   * between the two would lose the events in between for good. A save still waiting is not doubled.
   */
  save(drivers: readonly DeviceDriver[], durable: () => Promise<void>): Promise<void> {
    if (this.saving) return this.saving;
    const state: Record<string, unknown> = {};
    for (const driver of drivers) {
      const s = driver.persistentState?.();
      if (s !== undefined) state[driver.descriptor.id] = s;
    }
    const text = JSON.stringify(state);
    if (text === this.lastWritten) return Promise.resolve();
    this.saving = (async () => {
      try {
        await durable();
        mkdirSync(dirname(this.file), { recursive: true });
        writeFileSync(`${this.file}.tmp`, text);
        renameSync(`${this.file}.tmp`, this.file);
        this.lastWritten = text;
      } finally {
        this.saving = undefined;
      }
    })();
    return this.saving;
  }
}
