import type { Logger } from 'pino';
import type { WorkOrderRaiser } from './work-order-raiser.js';

/**
 * The raiser's timer: a round every `everyMs`, and one at once when nudged (the detectors stored
 * findings), so that a finding becomes an order within a second or two. Rounds never overlap; a failed
 * round is logged and the next runs as usual.
 */
export class WorkOrderJobs {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly raiser: WorkOrderRaiser,
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.schedule();
  }

  /** Runs a round now (or right after the one running). */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.running = this.raiser
      .run()
      .catch((err: unknown) => this.logger.error({ err }, 'work order round failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.nudge();
        } else this.schedule();
      });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.nudge(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
