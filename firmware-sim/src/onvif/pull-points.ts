export interface CameraNotification {
  topic: string;
  /** camera clock, epoch ms */
  utcTime: number;
  operation: 'Initialized' | 'Changed';
  source: { name: string; value: string };
  data: { name: string; value: string };
}

export interface PullPoint {
  readonly id: string;
  /** camera clock, epoch ms */
  terminationAt: number;
  readonly queue: CameraNotification[];
  wake?: () => void;
}

/** Pull messages a subscriber has not fetched are dropped past this, as cameras bound their queues. */
const MAX_QUEUED = 200;

/**
 * The camera's pull-point subscriptions (ONVIF Events): each one queues what happens from its creation
 * on, until it is unsubscribed or its termination time passes on the camera's clock.
 */
export class PullPoints {
  private readonly points = new Map<string, PullPoint>();
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  create(ttlMs: number, initial: CameraNotification[]): PullPoint {
    const point: PullPoint = { id: String(this.nextId++), terminationAt: this.now() + ttlMs, queue: [...initial] };
    this.points.set(point.id, point);
    return point;
  }

  /** A live subscription, or undefined when it never existed, was unsubscribed or has expired. */
  get(id: string): PullPoint | undefined {
    const point = this.points.get(id);
    if (point && point.terminationAt < this.now()) {
      this.remove(id);
      return undefined;
    }
    return point;
  }

  get size(): number {
    for (const id of [...this.points.keys()]) this.get(id);
    return this.points.size;
  }

  publish(notification: CameraNotification): void {
    for (const point of this.points.values()) {
      point.queue.push(notification);
      if (point.queue.length > MAX_QUEUED) point.queue.shift();
      point.wake?.();
    }
  }

  /** Waits up to timeoutMs for at least one message, then takes up to `limit` of them. */
  async pull(point: PullPoint, timeoutMs: number, limit: number, cancelled: () => boolean): Promise<CameraNotification[]> {
    if (point.queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          point.wake = undefined;
          resolve();
        }
        point.wake?.();
        point.wake = done;
      });
    }
    if (cancelled()) return [];
    return point.queue.splice(0, Math.max(1, limit));
  }

  remove(id: string): void {
    const point = this.points.get(id);
    this.points.delete(id);
    point?.wake?.();
  }

  clear(): void {
    for (const id of [...this.points.keys()]) this.remove(id);
  }
}

/** An xs:duration (PT60S, PT1M30S, PT0.5S, P1D) in ms, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}

/** A termination time given as a duration from now or as an absolute time, in camera clock ms. */
export function parseTermination(text: string | undefined, now: number, fallbackMs: number): number | undefined {
  if (text === undefined || text.trim() === '') return now + fallbackMs;
  const duration = parseDuration(text);
  if (duration !== undefined) return now + duration;
  const absolute = Date.parse(text);
  return Number.isFinite(absolute) ? absolute : undefined;
}

export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
