import type { Reading } from '@gatehouse/contracts';

export interface OutboxBatch {
  seq: number;
  readings: Reading[];
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

/**
 * Readings between the drivers and the broker: gathered into sequence-numbered batches, and released
 * only when the broker acknowledges the batch that carried them. Held in memory, bounded by
 * `maxQueuedReadings` (the oldest unsent batch goes first when it overflows).
 */
export class TelemetryOutbox {
  private pending: Reading[] = [];
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
    for (const r of readings) this.pending.push(r);
    this.queued += readings.length;
    this.enforceBound();
  }

  /** Turns pending readings into batches; returns how many batches were made. */
  cut(): number {
    let made = 0;
    while (this.pending.length > 0) {
      const readings = this.pending.splice(0, this.options.maxBatchReadings);
      this.batches.push({ seq: this.seq++, readings, inFlight: false });
      made++;
    }
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
    return this.batches.filter((b) => b.inFlight).length;
  }

  acknowledge(batch: OutboxBatch): void {
    const i = this.batches.indexOf(batch);
    if (i < 0) return;
    this.batches.splice(i, 1);
    this.queued -= batch.readings.length;
  }

  private enforceBound(): void {
    while (this.queued > this.options.maxQueuedReadings) {
      const victim = this.batches.findIndex((b) => !b.inFlight);
      if (victim < 0) {
        const dropped = this.pending.splice(0, this.queued - this.options.maxQueuedReadings);
        this.queued -= dropped.length;
        this.options.onDrop(dropped.length);
        return;
      }
      const [batch] = this.batches.splice(victim, 1);
      if (!batch) return;
      this.queued -= batch.readings.length;
      this.options.onDrop(batch.readings.length);
    }
  }
}
