import type { BatchHeader, StreamState } from '@gatehouse/contracts';
import type { MqttClient } from 'mqtt';
import type { Journal, JournalEntry } from '../journal/journal.js';

export interface JournalPublisherOptions {
  topic: string;
  /** where backlog (historical) batches go; defaults to `topic` */
  replayTopic?: string;
  /** items (readings, events) in one batch at most */
  maxBatchItems: number;
  /**
   * payload bytes in one batch at most (the cloud refuses a message over 8 MiB whole, with every
   * event in it); an entry larger than this still goes, alone
   */
  maxBatchBytes?: number;
  /** batches published and awaiting PUBACK at most */
  maxInFlight: number;
  buildPayload: (header: BatchHeader, payloads: Buffer[]) => Buffer;
  /** called with the items of each acknowledged batch, and whether it was historical */
  onAcknowledged?: (items: number, historical: boolean) => void;
}

type Lane = 'live' | 'backlog';

interface InFlight {
  entries: JournalEntry[];
  lane: Lane;
}

const DRAIN_WINDOW_MS = 10_000;

/**
 * Publishes a journal's entries with QoS 1 and acknowledges them in the journal on PUBACK. Two lanes
 * share the in-flight window: entries written since the connection came up (live) go first, so live
 * data stays fresh during a large replay; older entries (the backlog) fill the rest of the window,
 * oldest first, marked historical.
 */
export class JournalPublisher {
  private client: MqttClient | undefined;
  /** entries with seq >= liveFrom are live; older ones are backlog */
  private liveFrom = 0;
  /** no unsent entry of a lane lies before its cursor: scans start there, not at the beginning */
  private readonly cursor: Record<Lane, number> = { live: 0, backlog: 0 };
  private readonly inFlight = new Set<InFlight>();
  private acknowledgedWindow: { at: number; items: number }[] = [];
  /** where this process started writing: until the first connection, its entries count as live */
  private readonly startedAt: number;
  private attachedBefore = false;

  constructor(
    private readonly journal: Journal,
    private readonly options: JournalPublisherOptions,
  ) {
    this.startedAt = journal.nextSeq;
    journal.onWritten(() => this.pump());
  }

  /**
   * The connection is up: entries from now on are live, and so are, on the first connection, those
   * this process wrote while connecting; everything older not yet delivered is backlog.
   */
  attach(client: MqttClient): void {
    this.client = client;
    this.liveFrom = this.attachedBefore ? this.journal.nextSeq : this.startedAt;
    this.attachedBefore = true;
    this.cursor.live = this.liveFrom;
    this.cursor.backlog = this.journal.ackedThrough + 1;
    this.pump();
  }

  /** The connection dropped: batches in flight go back to waiting and are sent again on reconnect. */
  detach(): void {
    const client = this.client;
    this.client = undefined;
    // mqtt.js would resend its unacknowledged messages itself; we resend from the journal instead, so
    // that nothing is sent twice and the journal stays the single source of what is pending.
    if (client) for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    for (const batch of this.inFlight) for (const e of batch.entries) if (e.state === 'inflight') e.state = 'unsent';
    this.inFlight.clear();
    this.cursor.live = Math.min(this.cursor.live, this.liveFrom);
    this.cursor.backlog = this.journal.ackedThrough + 1;
  }

  pump(): void {
    const client = this.client;
    while (client?.connected && this.inFlight.size < this.options.maxInFlight) {
      const batch = this.nextBatch('live') ?? this.nextBatch('backlog');
      if (!batch) return;
      this.publish(client, batch);
    }
  }

  /** The next run of consecutive, written, unsent entries of a lane, up to maxBatchItems items and maxBatchBytes. */
  private nextBatch(lane: Lane): InFlight | undefined {
    const all = this.journal.all;
    let i = firstIndexAtOrAfter(all, this.cursor[lane]);
    const end = lane === 'live' ? all.length : firstIndexAtOrAfter(all, this.liveFrom);
    while (i < end && all[i]!.state !== 'unsent') i++;
    if (i < end) this.cursor[lane] = all[i]!.seq;
    else if (lane === 'backlog') this.cursor.backlog = this.liveFrom;
    if (i >= end || !all[i]!.written) return undefined;
    const entries: JournalEntry[] = [];
    let items = 0;
    let bytes = 0;
    const maxBytes = this.options.maxBatchBytes ?? Infinity;
    for (let j = i; j < end; j++) {
      const e = all[j]!;
      if (e.state !== 'unsent' || !e.written) break;
      if (entries.length > 0 && (items + e.count > this.options.maxBatchItems || bytes + e.length > maxBytes || e.firstSeq !== entries[entries.length - 1]!.seq + 1)) break;
      entries.push(e);
      items += e.count;
      bytes += e.length;
    }
    return { entries, lane };
  }

  private publish(client: MqttClient, batch: InFlight): void {
    for (const e of batch.entries) e.state = 'inflight';
    this.inFlight.add(batch);
    const header: BatchHeader = {
      seq: batch.entries[0]!.firstSeq,
      lastSeq: batch.entries[batch.entries.length - 1]!.seq,
      sentAt: Date.now(),
      historical: batch.lane === 'backlog',
    };
    const payload = this.options.buildPayload(header, this.journal.payloads(batch.entries));
    const topic = batch.lane === 'backlog' ? (this.options.replayTopic ?? this.options.topic) : this.options.topic;
    client.publish(topic, payload, { qos: 1 }, (err) => {
      if (!this.inFlight.delete(batch)) return;
      if (err) {
        for (const e of batch.entries) if (e.state === 'inflight') e.state = 'unsent';
        this.cursor[batch.lane] = Math.min(this.cursor[batch.lane], batch.entries[0]!.seq);
        return;
      }
      const items = batch.entries.reduce((n, e) => n + e.count, 0);
      this.journal.acknowledge(batch.entries);
      this.noteAcknowledged(items);
      this.options.onAcknowledged?.(items, header.historical);
      this.pump();
    });
  }

  private noteAcknowledged(items: number): void {
    const now = Date.now();
    this.acknowledgedWindow.push({ at: now, items });
    while (this.acknowledgedWindow.length > 0 && this.acknowledgedWindow[0]!.at < now - DRAIN_WINDOW_MS) this.acknowledgedWindow.shift();
  }

  /** Items delivered per second over the last ten seconds. */
  drainPerSecond(): number {
    const now = Date.now();
    const recent = this.acknowledgedWindow.filter((a) => a.at >= now - DRAIN_WINDOW_MS);
    return recent.reduce((n, a) => n + a.items, 0) / (DRAIN_WINDOW_MS / 1000);
  }

  /** set by the gateway's budget check */
  overBudget = false;

  state(): StreamState {
    const stats = this.journal.stats();
    return {
      overBudget: this.overBudget,
      nextSeq: this.journal.nextSeq,
      ackedThrough: this.journal.ackedThrough,
      backlogEntries: stats.entries,
      backlogItems: stats.items,
      oldestPendingTs: stats.oldestTs === null ? null : Math.max(stats.oldestTs, Date.UTC(2000, 0, 1)),
      drainPerSecond: Math.round(this.drainPerSecond() * 10) / 10,
      bytes: this.journal.diskBytes(),
    };
  }
}

/** Index of the first entry with seq >= `seq` (entries are in seq order). */
function firstIndexAtOrAfter(entries: readonly JournalEntry[], seq: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
