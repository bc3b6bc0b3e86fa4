import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql-client.js';
import type { AlarmService } from './alarm-service.js';
import { AlarmEscalator } from './escalation.js';
import { AlarmNotifier, type NotificationChannel } from './notifiers.js';

export interface AlarmJobsOptions {
  db: SqlClient;
  alarms: AlarmService;
  logger: Logger;
  now?: () => number;
  /** notification channels to use instead of the configured ones */
  channels?: Partial<Record<'webhook' | 'email', NotificationChannel>>;
}

// The notifier looks at least this often, so that a retry is not held back by a long check interval.
const NOTIFY_EVERY_MS = 1000;

/**
 * The alarm engine's timers: health checks and escalation every `checkEveryMs`, the notifier at least
 * every second. A failed round is logged and the next one runs as usual; timers do not keep the process
 * alive.
 */
export class AlarmJobs {
  readonly escalator: AlarmEscalator;
  readonly notifier: AlarmNotifier;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly options: AlarmJobsOptions) {
    const { db, alarms, logger, now } = options;
    this.escalator = new AlarmEscalator({ db, config: alarms.config, logger, ...(now ? { now } : {}) });
    this.notifier = new AlarmNotifier({ db, config: alarms.config, logger, ...(now ? { now } : {}), ...(options.channels ? { channels: options.channels } : {}) });
  }

  start(): void {
    const every = this.options.alarms.config.checkEveryMs;
    this.schedule('health check', () => this.options.alarms.checkHealth(), every);
    // Escalation queues notifications; sending them at once saves waiting for the notifier's next turn.
    this.schedule('escalation', async () => ((await this.escalator.run()) > 0 ? this.notifier.sendDue() : undefined), every);
    this.schedule('notifier', () => this.notifier.sendDue(), Math.min(every, NOTIFY_EVERY_MS));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
    this.notifier.close();
  }

  private schedule(name: string, job: () => Promise<unknown>, everyMs: number): void {
    const tick = () => {
      if (this.stopped) return;
      const run = job()
        .catch((err: Error) => this.options.logger.error({ err: err.message, job: name }, `alarm ${name} failed; trying again at the next interval`))
        .finally(() => {
          this.running.delete(run);
          if (!this.stopped) arm();
        });
      this.running.add(run);
    };
    const arm = () => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        tick();
      }, everyMs).unref();
      this.timers.add(timer);
    };
    arm();
  }
}
