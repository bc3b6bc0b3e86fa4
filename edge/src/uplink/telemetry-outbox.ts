import { serializeReadings, type Reading } from '@gatehouse/contracts';

export interface OutboxBatch {
  seq: number;
  /** readings as JSON fragments, one per poll */
  fragments: string[];
  count: number;
  /** true while handed to the MQTT client and waiting for its PUBACK */
  inFlight: boolean;
}

export interface TelemetryOutboxOptions {
  maxBatchReadings: number;
  maxQueuedReadings: number;
  /** first sequence number to use */
  firstSeq: number;
  onDrop: (readings: number) => void;
}

interface Fragment {
  json: string;
  count: number;
}

/**
 * Readings between the drivers and the broker: serialised once as they arrive, gathered into
 * sequence-numbered batches, and released only when the broker acknowledges the batch that carried
 * them. Held in memory, bounded by `maxQueuedReadings` (the oldest unsent batch goes first when it
 * overflows).
 */
export class TelemetryOutbox {
  private pending: Fragment[] = [];
  private pendingCount = 0;
  private readonly batches: OutboxBatch[] = [];
  private queued = 0;
  private seq: number;

  constructor(private readonly options: TelemetryOutboxOptions) {
    this.seq = options.firstSeq;
  }

  get nextSeq(): number {
    return this.seq;
  }

  /** Readings waiting for an acknowledgement, batched or not. */
  get size(): number {
    return this.queued;
  }

  add(readings: readonly Reading[]): void {
    const max = this.options.maxBatchReadings;
    for (let i = 0; i < readings.length; i += max) {
      const chunk = readings.length <= max ? readings : readings.slice(i, i + max);
      this.pending.push({ json: serializeReadings(chunk), count: chunk.length });
      this.pendingCount += chunk.length;
      this.queued += chunk.length;
    }
    this.enforceBound();
  }

  /** Turns pending readings into batches of at most maxBatchReadings; returns how many were made. */
  cut(): number {
    let made = 0;
    let batch: OutboxBatch | undefined;
    for (const fragment of this.pending) {
      if (!batch || batch.count + fragment.count > this.options.maxBatchReadings) {
        batch = { seq: this.seq++, fragments: [], count: 0, inFlight: false };
        this.batches.push(batch);
        made++;
      }
      batch.fragments.push(fragment.json);
      batch.count += fragment.count;
    }
    this.pending = [];
    this.pendingCount = 0;
    return made;
  }

  /** Batches ready to publish, oldest first. */
  unsent(limit: number): OutboxBatch[] {
    const out: OutboxBatch[] = [];
    for (const b of this.batches) {
      if (out.length >= limit) break;
      if (!b.inFlight) out.push(b);
    }
    return out;
  }

  get inFlightCount(): number {
    let n = 0;
    for (const b of this.batches) if (b.inFlight) n++;
    return n;
  }

  acknowledge(batch: OutboxBatch): void {
    const i = this.batches.indexOf(batch);
    if (i < 0) return;
    this.batches.splice(i, 1);
    this.queued -= batch.count;
  }

  private enforceBound(): void {
    while (this.queued > this.options.maxQueuedReadings) {
      const victim = this.batches.findIndex((b) => !b.inFlight);
      if (victim >= 0) {
        const [batch] = this.batches.splice(victim, 1);
        if (!batch) return;
        this.queued -= batch.count;
        this.options.onDrop(batch.count);
        continue;
      }
      const oldest = this.pending.shift();
      if (!oldest) return;
      this.pendingCount -= oldest.count;
      this.queued -= oldest.count;
      this.options.onDrop(oldest.count);
    }
  }
}
