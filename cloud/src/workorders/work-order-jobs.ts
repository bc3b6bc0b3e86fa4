import type { Logger } from 'pino';

/** One kind of periodic work-order round (the raiser, the plan scheduler, the notifier). */
export interface WorkOrderRound {
  name: string;
  run(): Promise<unknown>;
}

/**
 * The work-order timer: every `everyMs` it runs each round in turn, and at once when nudged (the
 * detectors stored findings), so that a finding becomes an order within a second or two. Rounds never
 * overlap; a failed round is logged and the others, and the next, run as usual.
 */
export class WorkOrderJobs {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private again = false;
  private stopped = false;
  private readonly rounds: WorkOrderRound[];

  constructor(
    rounds: WorkOrderRound | WorkOrderRound[],
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {
    this.rounds = Array.isArray(rounds) ? rounds : [rounds];
  }

  start(): void {
    this.schedule();
  }

  /** Runs the rounds now (or right after the ones running). */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.running = this.runAll().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.nudge();
      } else this.schedule();
    });
  }

  private async runAll(): Promise<void> {
    for (const round of this.rounds) {
      if (this.stopped) return;
      await round.run().catch((err: unknown) => this.logger.error({ err, round: round.name }, 'work order round failed'));
    }
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
