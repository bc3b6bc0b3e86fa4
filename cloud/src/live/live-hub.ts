import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql-client.js';
import { lastLiveSeq, readLiveFeed, type LiveItem } from './live-feed.js';

export interface LiveHubOptions {
  db: SqlClient;
  logger: Logger;
  /** how often the feed is read; every cloud instance reads it, whichever instance wrote */
  pollEveryMs?: number;
  /** how many recent items are kept in memory for the connected consoles */
  bufferSize?: number;
  /** items older than this are deleted from the feed (a console away longer reloads its lists) */
  keepHours?: number;
}

/**
 * Reads the live feed once for all connected consoles of this instance and keeps the recent items in
 * memory. Each console follows it with its own cursor (the last number it was sent), so a console
 * that reconnects with Last-Event-ID gets exactly what it missed, in order, once.
 */
export class LiveHub {
  private buffer: LiveItem[] = [];
  private lastSeq = 0;
  private waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** a nudge came while a read was under way: read once more after it */
  private pollAgain = false;
  private readonly pollEveryMs: number;
  private readonly bufferSize: number;

  constructor(private readonly options: LiveHubOptions) {
    this.pollEveryMs = options.pollEveryMs ?? 100;
    this.bufferSize = options.bufferSize ?? 5000;
  }

  async start(): Promise<void> {
    this.lastSeq = await lastLiveSeq(this.options.db);
    this.timer = setInterval(() => void this.poll(), this.pollEveryMs);
    this.timer.unref();
    const purge = () =>
      this.options.db
        .execute(`DELETE FROM live_feed WHERE at < now() - make_interval(hours => $1)`, [this.options.keepHours ?? 24])
        .catch((err: Error) => this.options.logger.warn({ err: err.message }, 'could not purge the live feed'));
    this.purgeTimer = setInterval(() => void purge(), 3_600_000);
    this.purgeTimer.unref();
  }

  /** true once stopping: open streams end, so that the HTTP server can close */
  stopped = false;

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.purgeTimer);
    this.wake();
  }

  /** The newest number this instance has seen: where a console without Last-Event-ID starts. */
  get head(): number {
    return this.lastSeq;
  }

  /**
   * Items after `cursor`, oldest first, at most `limit`: from memory when it still holds them, else
   * from the database (a console that was away for a while).
   */
  async after(cursor: number, limit = 500): Promise<LiveItem[]> {
    const first = this.buffer[0];
    if (first && cursor >= first.seq - 1) {
      const start = this.buffer.findIndex((item) => item.seq > cursor);
      return start < 0 ? [] : this.buffer.slice(start, start + limit);
    }
    if (cursor >= this.lastSeq) return [];
    return (await readLiveFeed(this.options.db, cursor, limit)).filter((item) => item.seq <= this.lastSeq);
  }

  /** Resolves when new items arrive, or after `timeoutMs`. */
  waitForMore(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /**
   * Reads the feed now rather than at the next tick: called when this instance has just committed
   * something to it (an event stored), so that its consoles hear of it at once.
   */
  nudge(): void {
    void this.poll().then(() => (this.pollAgain ? ((this.pollAgain = false), this.poll()) : undefined));
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    try {
      for (;;) {
        const items = await readLiveFeed(this.options.db, this.lastSeq, 1000);
        if (items.length === 0) break;
        this.buffer.push(...items);
        this.lastSeq = items[items.length - 1]!.seq;
        if (this.buffer.length > this.bufferSize) this.buffer = this.buffer.slice(this.buffer.length - this.bufferSize);
        this.wake();
        if (items.length < 1000) break;
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not read the live feed; retrying');
    } finally {
      this.polling = false;
    }
  }
}
