import type { Logger } from 'pino';
import type { CloudMetrics } from '../status/metrics.js';
import type { RetentionTarget, TimeSeriesStore } from './time-series-store.js';

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  rawDays?: number;
  rollup15mDays?: number;
  rollup1hDays?: number;
  rollup1dDays?: number;
  rollup1moDays?: number;
}

/** The retention setting of each level. */
export const RETENTION_KEYS: Record<RetentionTarget, keyof RetentionPolicy> = { raw: 'rawDays', '15m': 'rollup15mDays', '1h': 'rollup1hDays', '1d': 'rollup1dDays', '1mo': 'rollup1moDays' };
const TARGETS = Object.entries(RETENTION_KEYS) as [RetentionTarget, keyof RetentionPolicy][];

/** The configured limits by level, in days (levels kept forever left out). */
export function retentionDays(policy: RetentionPolicy): Partial<Record<RetentionTarget, number>> {
  return Object.fromEntries(TARGETS.flatMap(([target, key]) => (policy[key] === undefined ? [] : [[target, policy[key]]])));
}

/** Applies a retention policy once: every resolution with a limit loses what is older. */
export async function applyRetention(store: TimeSeriesStore, policy: RetentionPolicy, now = Date.now()): Promise<Partial<Record<RetentionTarget, number>>> {
  const deleted: Partial<Record<RetentionTarget, number>> = {};
  for (const [target, key] of TARGETS) {
    const days = policy[key];
    if (days !== undefined) deleted[target] = await store.deleteBefore(target, now - days * DAY_MS);
  }
  return deleted;
}

/**
 * The cloud's storage housekeeping: rollups refreshed every few seconds (so a dashboard lags the raw
 * readings by at most that), retention applied every hour. A failure is logged, counted and retried.
 */
export class StorageJobs {
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: TimeSeriesStore,
    private readonly options: { refreshEveryMs: number; retention: RetentionPolicy & { checkEveryMs: number }; metrics: CloudMetrics; logger: Logger },
  ) {}

  start(): void {
    this.schedule(() => this.refresh(), this.options.refreshEveryMs);
    this.schedule(() => this.retain(), this.options.retention.checkEveryMs, true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await this.running.catch(() => undefined);
  }

  private schedule(job: () => Promise<void>, everyMs: number, runNow = false): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = job().finally(() => {
        if (!this.stopped) this.timers.push(setTimeout(tick, everyMs).unref());
      });
    };
    this.timers.push(setTimeout(tick, runNow ? 0 : everyMs).unref());
  }

  async refresh(): Promise<void> {
    const end = this.options.metrics.rollupRefreshDuration.startTimer();
    try {
      const stats = await this.store.refreshRollups();
      this.options.metrics.rollupBuckets.inc(stats.buckets);
      if (stats.series > 0) this.options.logger.debug(stats, 'rollups refreshed');
    } catch (err) {
      this.options.metrics.rollupFailures.inc();
      this.options.logger.warn({ err: (err as Error).message }, 'rollup refresh failed; retrying at the next interval');
    } finally {
      end();
    }
  }

  private async retain(): Promise<void> {
    try {
      const deleted = await applyRetention(this.store, this.options.retention);
      for (const [target, n] of Object.entries(deleted)) {
        if (n > 0) {
          this.options.metrics.retentionDeleted.inc({ target }, n);
          this.options.logger.info({ target, deleted: n }, 'retention applied');
        }
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'retention failed; retrying at the next interval');
    }
  }
}
