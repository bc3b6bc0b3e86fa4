import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { fdatasync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { decodeRecordAt, encodeRecord, HEADER_BYTES, resynchronise } from './record-format.js';

/**
 * always: fdatasync after every group commit (survives power loss; slowest).
 * interval: fdatasync every `fsyncIntervalMs` (a power cut loses at most that much; a process crash,
 *   kill -9 included, loses nothing that was written).
 * never: leave it to the OS.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface JournalOptions {
  dir: string;
  /** telemetry or events: for logs and metrics */
  name: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** appends arriving within this window are written (and synced) together */
  groupCommitMs: number;
  /** a new segment file is started past this size */
  segmentBytes: number;
  /** payloads of the newest entries kept in memory, so live data is published without reading disk */
  cacheBytes: number;
  /** delivered segments kept on disk up to this many bytes, so that the cloud can ask for a resend */
  retainBytes?: number;
  logger: Logger;
  /** called for every damaged record found and skipped */
  onCorruptRecord?: (reason: string) => void;
  /** called after each group commit with the bytes written and the payload bytes they carried */
  onWrite?: (writtenBytes: number, payloadBytes: number) => void;
}

export type EntryState = 'unsent' | 'inflight' | 'acked';

/** What the journal knows of an entry it has not yet been able to forget. */
export interface JournalEntry {
  seq: number;
  /** first sequence number the entry stands for: itself, unless compaction merged several */
  firstSeq: number;
  /** when the entry was appended, epoch ms */
  ts: number;
  /** items in the payload (readings, events) */
  count: number;
  state: EntryState;
  /** true once the entry is on disk (written; synced according to the fsync policy) */
  written: boolean;
  segment: Segment;
  offset: number;
  headerBytes: number;
  length: number;
  payload: Buffer | undefined;
}

/** An entry as compaction sees it. */
export interface EntryData {
  firstSeq: number;
  seq: number;
  ts: number;
  count: number;
  payload: Buffer;
}

/** Replaces a run of entries by fewer ones covering the same sequence numbers. */
export type CompactionTransform = (entries: EntryData[]) => EntryData[];

interface Segment {
  firstSeq: number;
  lastSeq: number;
  path: string;
  size: number;
  /** entries of this segment not yet acknowledged */
  live: number;
  fd: number | undefined;
  /** rewritten by compaction already */
  compacted: boolean;
}

const SEGMENT_SUFFIX = '.seg';
const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(20, '0')}${SEGMENT_SUFFIX}`;

/**
 * An append-only, sequence-numbered journal on disk: segment files of CRC-checked records. Entries are
 * acknowledged once delivered; a segment whose entries are all acknowledged is deleted. The
 * acknowledgement watermark is kept in `state.json`, so after a restart only unacknowledged entries
 * are delivered again.
 */
export class Journal {
  private entries: JournalEntry[] = [];
  /** entries before this index are acknowledged and only wait to be compacted away */
  private head = 0;
  /** entries before this index hold no payload in memory */
  private cacheCursor = 0;
  private readonly segments: Segment[] = [];
  /** fully acknowledged segments, oldest first, kept for resends */
  private readonly retained: Segment[] = [];
  private pending: { entry: JournalEntry; record: Buffer }[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private cachedBytes = 0;
  private seq: number;
  private acked: number;
  private stateDirty = false;
  /** sequence numbers up to this one may have been handed out (and published): never to be reused */
  private reservedThrough = 0;
  /** numbers skipped at a start after an unclean stop: published before it or never issued */
  private readonly skipped: [number, number][] = [];
  private stateTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners: (() => void)[] = [];

  private constructor(
    private readonly options: JournalOptions,
    ackedThrough: number,
  ) {
    this.acked = ackedThrough;
    this.seq = ackedThrough + 1;
  }

  static open(options: JournalOptions): Journal {
    mkdirSync(options.dir, { recursive: true });
    const journal = new Journal(options, readAckedThrough(options.dir));
    journal.recover();
    journal.resumeNumbering();
    if (options.fsync === 'interval') {
      journal.syncTimer = setInterval(() => journal.syncActiveSegment(), options.fsyncIntervalMs);
      journal.syncTimer.unref();
    }
    return journal;
  }

  /** Every entry with a sequence number up to this one has been acknowledged. */
  get ackedThrough(): number {
    return this.acked;
  }

  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Entries in sequence order: every unacknowledged one, possibly preceded by acknowledged ones not yet
   * compacted away (their state says so).
   */
  get all(): readonly JournalEntry[] {
    return this.entries;
  }

  /** Unacknowledged entries, in sequence order. */
  unacknowledged(): JournalEntry[] {
    return this.entries.slice(this.head);
  }

  /** Calls `listener` whenever new entries reach the disk. */
  onWritten(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Appends one entry; it is written within `groupCommitMs`. Returns its sequence number. */
  append(payload: Buffer, count: number, ts = Date.now()): number {
    if (this.closed) throw new Error(`journal ${this.options.name} is closed`);
    const seq = this.seq++;
    if (seq > this.reservedThrough) {
      try {
        this.reserve(seq - 1 + RESERVATION_BLOCK);
      } catch (err) {
        // The entry is still journaled; only a power cut before the next reservation could reuse its number.
        this.options.logger.error({ journal: this.options.name, err: (err as Error).message }, 'journal: sequence numbers could not be reserved on disk');
      }
    }
    const record = encodeRecord(seq, ts, count, payload);
    const segment = this.activeSegment(seq, record.length);
    const entry: JournalEntry = { seq, firstSeq: seq, ts, count, state: 'unsent', written: false, segment, offset: segment.size, headerBytes: HEADER_BYTES, length: payload.length, payload };
    segment.size += record.length;
    segment.lastSeq = seq;
    segment.live++;
    this.entries.push(entry);
    this.cachedBytes += payload.length;
    this.trimCache();
    this.pending.push({ entry, record });
    this.flushTimer ??= setTimeout(() => {
      this.flush().catch(() => undefined);
    }, this.options.groupCommitMs);
    return seq;
  }

  /** Writes (and syncs, per policy) everything appended so far. */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.flushing;
    const step = this.flushing.then(async () => {
      // Consecutive records of one segment go out in one write: one system call per group commit.
      let start = 0;
      try {
        while (start < batch.length) {
          const segment = batch[start]!.entry.segment;
          let end = start;
          while (end < batch.length && batch[end]!.entry.segment === segment) end++;
          const fd = this.fdOf(segment);
          const buffer = Buffer.concat(batch.slice(start, end).map((p) => p.record));
          writeSync(fd, buffer, 0, buffer.length, batch[start]!.entry.offset);
          if (this.options.fsync === 'always') await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
          start = end;
        }
      } catch (err) {
        // A full or failing disk: keep what was not written, and try again with the next commit
        // rather than giving up on the journal (positions are fixed, so a rewrite is harmless).
        this.pending = [...batch.slice(start), ...this.pending];
        this.options.logger.error({ journal: this.options.name, err: (err as Error).message, unwritten: batch.length - start }, 'journal write failed; will retry');
        this.flushTimer ??= setTimeout(() => {
          this.flush().catch(() => undefined);
        }, Math.max(this.options.groupCommitMs, 1000));
        batch.length = start;
      }
      let payloadBytes = 0;
      let writtenBytes = 0;
      for (const p of batch) {
        p.entry.written = true;
        payloadBytes += p.entry.length;
        writtenBytes += p.record.length;
      }
      this.options.onWrite?.(writtenBytes, payloadBytes);
      for (const listener of this.listeners) {
        try {
          listener();
        } catch (err) {
          this.options.logger.error({ journal: this.options.name, err: (err as Error).message }, 'journal listener failed');
        }
      }
    });
    // The chain carries on whatever happened in this step.
    this.flushing = step.catch(() => undefined);
    return step;
  }

  /** Reads the payloads of entries (from memory when cached, else from their segment file). */
  payloads(entries: readonly JournalEntry[]): Buffer[] {
    return entries.map((e) => e.payload ?? this.readFromDisk(e));
  }

  /** Marks entries delivered. Entries up to the first undelivered one are forgotten. */
  acknowledge(entries: readonly JournalEntry[]): void {
    for (const e of entries) {
      if (e.state === 'acked') continue;
      e.state = 'acked';
      e.segment.live--;
    }
    const from = this.head;
    while (this.head < this.entries.length && this.entries[this.head]!.state === 'acked') {
      const e = this.entries[this.head]!;
      if (e.payload) this.cachedBytes -= e.length;
      e.payload = undefined;
      this.head++;
    }
    if (this.head === from) return;
    this.acked = this.entries[this.head - 1]!.seq;
    // Compact now and then, not on every acknowledgement: a large backlog drains in thousands of steps.
    if (this.head > 4096 && this.head > this.entries.length / 2) {
      this.entries = this.entries.slice(this.head);
      this.cacheCursor = Math.max(0, this.cacheCursor - this.head);
      this.head = 0;
    }
    this.stateDirty = true;
    this.stateTimer ??= setTimeout(() => this.saveState(), 200);
    this.deleteAcknowledgedSegments();
  }

  /** Bytes on disk: segments still being delivered, and delivered ones kept for resends. */
  diskBytes(): number {
    return [...this.segments, ...this.retained].reduce((n, s) => n + s.size, 0);
  }

  /** Deletes the delivered segments kept for resends; returns the bytes freed. */
  dropRetained(): number {
    let freed = 0;
    for (const segment of this.retained.splice(0)) {
      freed += segment.size;
      unlinkSync(segment.path);
    }
    return freed;
  }

  /**
   * Rewrites the oldest segment not compacted yet, replacing its undelivered entries by what
   * `transform` makes of them (fewer entries covering the same sequence numbers). Never touches the
   * segment being written or a segment with entries in flight. Returns the bytes saved (0: nothing
   * left to compact now).
   */
  compactOldest(transform: CompactionTransform): number {
    for (const segment of this.segments.slice(0, -1)) {
      if (segment.compacted) continue;
      const first = this.entries.findIndex((e) => e.segment === segment);
      if (first < 0) continue;
      let last = first;
      while (last + 1 < this.entries.length && this.entries[last + 1]!.segment === segment) last++;
      const members = this.entries.slice(first, last + 1);
      // Entries in flight, or not yet on disk (a group commit still to come would write into the file
      // being replaced): try again later.
      if (members.some((e) => e.state === 'inflight' || !e.written)) return 0;
      const unsent = members.filter((e) => e.state === 'unsent');
      const outputs = unsent.length > 0 ? transform(unsent.map((e) => ({ firstSeq: e.firstSeq, seq: e.seq, ts: e.ts, count: e.count, payload: e.payload ?? this.readFromDisk(e) }))) : [];
      const records = outputs.map((o) => encodeRecord(o.seq, o.ts, o.count, o.payload, o.firstSeq));
      // Written beside the segment, synced, then renamed over it: a crash leaves one or the other.
      const tmp = `${segment.path}.compacting`;
      const fd = openSync(tmp, 'w');
      const bytes = Buffer.concat(records);
      writeSync(fd, bytes, 0, bytes.length, 0);
      fdatasyncSync(fd);
      closeSync(fd);
      if (segment.fd !== undefined) closeSync(segment.fd);
      segment.fd = undefined;
      renameSync(tmp, segment.path);

      let offset = 0;
      const replacements: JournalEntry[] = outputs.map((o, i) => {
        const record = records[i]!;
        const entry: JournalEntry = { seq: o.seq, firstSeq: o.firstSeq, ts: o.ts, count: o.count, state: 'unsent', written: true, segment, offset, headerBytes: record.length - o.payload.length, length: o.payload.length, payload: undefined };
        offset += record.length;
        return entry;
      });
      for (const e of members) if (e.payload) this.cachedBytes -= e.length;
      this.entries = [...this.entries.slice(0, first), ...replacements, ...this.entries.slice(last + 1)];
      this.cacheCursor = Math.min(this.cacheCursor, first);
      this.head = 0;
      while (this.head < this.entries.length && this.entries[this.head]!.state === 'acked') this.head++;
      const saved = segment.size - offset;
      segment.size = offset;
      segment.live = replacements.length;
      segment.compacted = true;
      this.options.logger.warn({ journal: this.options.name, segment: segment.firstSeq, entriesBefore: unsent.length, entriesAfter: replacements.length, savedBytes: saved }, 'journal over its budget: oldest undelivered readings compacted');
      return saved;
    }
    return 0;
  }

  stats(): { entries: number; items: number; bytes: number; oldestTs: number | null; segments: number } {
    let items = 0;
    let entries = 0;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.state === 'acked') continue;
      items += e.count;
      entries++;
    }
    const bytes = this.segments.reduce((n, s) => n + s.size, 0);
    return { entries, items, bytes, oldestTs: this.entries[this.head]?.ts ?? null, segments: this.segments.length };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.syncActiveSegment();
    this.saveState();
    // A clean stop hands back what it did not use: the next start numbers on without a gap.
    this.reserve(this.seq - 1, true);
    for (const s of this.segments) {
      if (s.fd !== undefined) closeSync(s.fd);
      s.fd = undefined;
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  private activeSegment(seq: number, recordBytes: number): Segment {
    const last = this.segments[this.segments.length - 1];
    if (last && last.size + recordBytes <= this.options.segmentBytes) return last;
    if (last?.fd !== undefined && this.pending.every((p) => p.entry.segment !== last)) {
      // The periodic sync only covers the newest segment: sync this one before leaving it.
      if (this.options.fsync !== 'never') fdatasyncSync(last.fd);
      closeSync(last.fd);
      last.fd = undefined;
    }
    const segment: Segment = { firstSeq: seq, lastSeq: seq, path: join(this.options.dir, segmentName(seq)), size: 0, live: 0, fd: undefined, compacted: false };
    this.segments.push(segment);
    return segment;
  }

  private fdOf(segment: Segment): number {
    segment.fd ??= openSync(segment.path, existsSync(segment.path) ? 'r+' : 'w+');
    return segment.fd;
  }

  /**
   * Everything appended so far written and, unless the policy is `never`, synced to disk: what a
   * position saved elsewhere (a panel's last serial number) may then point at.
   */
  async makeDurable(): Promise<void> {
    await this.flush();
    if (this.options.fsync !== 'never' && !this.closed) this.syncActiveSegment();
  }

  private syncActiveSegment(): void {
    const last = this.segments[this.segments.length - 1];
    if (last?.fd !== undefined) fdatasyncSync(last.fd);
  }

  private trimCache(): void {
    // Keep the newest payloads; older ones are read back from disk when (if ever) they are sent. The
    // cursor makes this constant work per append, however long the backlog.
    while (this.cachedBytes > this.options.cacheBytes && this.cacheCursor < this.entries.length) {
      const e = this.entries[this.cacheCursor]!;
      if (!e.written) return;
      if (e.payload) {
        this.cachedBytes -= e.length;
        e.payload = undefined;
      }
      this.cacheCursor++;
    }
  }

  private readFromDisk(e: JournalEntry): Buffer {
    const buffer = Buffer.allocUnsafe(e.length);
    const fd = e.segment.fd ?? openSync(e.segment.path, 'r');
    try {
      readSync(fd, buffer, 0, e.length, e.offset + e.headerBytes);
    } finally {
      if (e.segment.fd === undefined) closeSync(fd);
    }
    return buffer;
  }

  private deleteAcknowledgedSegments(): void {
    // Never the segment being written to.
    while (this.segments.length > 1 && this.segments[0]!.live === 0 && this.segments[0]!.lastSeq <= this.acked) {
      const segment = this.segments.shift()!;
      if (segment.fd !== undefined) closeSync(segment.fd);
      segment.fd = undefined;
      this.retained.push(segment);
    }
    let retainedBytes = this.retained.reduce((n, r) => n + r.size, 0);
    while (this.retained.length > 0 && retainedBytes > (this.options.retainBytes ?? 0)) {
      const oldest = this.retained.shift()!;
      retainedBytes -= oldest.size;
      unlinkSync(oldest.path);
    }
  }

  /**
   * Entries from..to read back from disk, delivered or not (for a resend the cloud asked for). Entries
   * no longer kept are simply absent from the result.
   */
  readRange(from: number, to: number): EntryData[] {
    const out: EntryData[] = [];
    for (const segment of [...this.retained, ...this.segments]) {
      if (segment.lastSeq < from || segment.firstSeq > to || !existsSync(segment.path)) continue;
      const data = readFileSync(segment.path);
      let offset = 0;
      while (offset < data.length) {
        const outcome = decodeRecordAt(data, offset);
        if (outcome.kind !== 'record') {
          const next = resynchronise(data, offset + 1);
          if (next < 0) break;
          offset = next;
          continue;
        }
        const { seq, firstSeq, ts, count, length } = outcome.header;
        if (seq >= from && firstSeq <= to) out.push({ firstSeq, seq, ts, count, payload: Buffer.from(data.subarray(outcome.payloadOffset, outcome.payloadOffset + length)) });
        offset = outcome.next;
      }
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  private saveState(): void {
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
    if (!this.stateDirty) return;
    const file = join(this.options.dir, 'state.json');
    const fd = openSync(`${file}.tmp`, 'w');
    writeSync(fd, JSON.stringify({ ackedThrough: this.acked }));
    if (this.options.fsync !== 'never') fdatasyncSync(fd);
    closeSync(fd);
    renameSync(`${file}.tmp`, file);
    this.stateDirty = false;
  }

  /**
   * Ranges of sequence numbers skipped after an unclean stop (up to the last 100): entries in them that
   * were published before it are wherever they went; the rest were never issued or went with the power.
   */
  skippedRanges(): readonly [number, number][] {
    return this.skipped;
  }

  /**
   * Writes, and syncs, the highest sequence number that may be handed out before the next reservation.
   * With `fsync: interval` a power cut can take entries that were written, published and even delivered
   * off the disk; numbering on from what survived would give new entries the numbers of delivered ones
   * (and the cloud would take them for repeats). Reserving ahead in blocks keeps that from happening
   * at one sync per RESERVATION_BLOCK entries, whatever the policy.
   */
  private reserve(through: number, clean = false): void {
    const file = join(this.options.dir, RESERVATION_FILE);
    const fd = openSync(`${file}.tmp`, 'w');
    writeSync(fd, JSON.stringify({ reservedThrough: through, clean, bootId: BOOT_ID, skipped: this.skipped }));
    fdatasyncSync(fd);
    closeSync(fd);
    renameSync(`${file}.tmp`, file);
    // The rename itself must reach the disk before any number it covers is used.
    const dirFd = openSync(this.options.dir, 'r');
    try {
      fdatasyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.reservedThrough = through;
  }

  /** After recovery: numbering goes on past everything reserved before, saying so when that skips numbers. */
  private resumeNumbering(): void {
    const saved = readReservation(this.options.dir);
    this.skipped.push(...saved.skipped);
    this.reservedThrough = saved.reservedThrough;
    const highest = this.seq - 1;
    if (saved.clean) {
      // Stopped cleanly: every number up to the reservation was used or skipped before and said so.
      this.seq = Math.max(this.seq, saved.reservedThrough + 1);
    } else if (saved.bootId !== undefined && saved.bootId === BOOT_ID) {
      // The process died (kill -9, a crash) but the machine did not restart: everything written is in
      // the OS's cache and was recovered above, and an entry is published only once written. Numbering
      // on from the highest found reuses nothing, and skips nothing that would then count as lost.
    } else if (saved.reservedThrough > highest) {
      const gap: [number, number] = [highest + 1, saved.reservedThrough];
      this.skipped.push(gap);
      this.skipped.splice(0, Math.max(0, this.skipped.length - 100));
      this.seq = saved.reservedThrough + 1;
      this.options.logger.warn(
        { journal: this.options.name, from: gap[0], to: gap[1] },
        'journal: unclean stop (power cut or crash); numbering goes on after every number that may have been handed out. Entries in the skipped range published before the stop were delivered; the rest were never issued or lost with the power (at most the last fsync interval)',
      );
      this.reserve(saved.reservedThrough);
    }
  }

  /** Rebuilds the index from the segment files, skipping damaged records and cutting a torn tail. */
  private recover(): void {
    const files = readdirSync(this.options.dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX))
      .sort();
    let highest = this.acked;
    files.forEach((file, fileIndex) => {
      const path = join(this.options.dir, file);
      const data = readFileSync(path);
      const segment: Segment = { firstSeq: Number(file.slice(0, -SEGMENT_SUFFIX.length)), lastSeq: 0, path, size: 0, live: 0, fd: undefined, compacted: false };
      let offset = 0;
      let validEnd = 0;
      while (offset < data.length) {
        const outcome = decodeRecordAt(data, offset);
        if (outcome.kind === 'record') {
          const { seq, firstSeq, ts, count, length, headerBytes } = outcome.header;
          segment.lastSeq = Math.max(segment.lastSeq, seq);
          if (firstSeq !== seq) segment.compacted = true;
          highest = Math.max(highest, seq);
          if (seq > this.acked) {
            this.entries.push({ seq, firstSeq, ts, count, state: 'unsent', written: true, segment, offset, headerBytes, length, payload: undefined });
            segment.live++;
          }
          offset = outcome.next;
          validEnd = offset;
          continue;
        }
        const isLast = fileIndex === files.length - 1;
        const next = resynchronise(data, offset + 1);
        if (next < 0 && isLast) {
          // A torn write at the end of the newest segment: cut it off so appends continue cleanly.
          this.options.logger.warn({ journal: this.options.name, file, offset, droppedBytes: data.length - offset }, 'journal: incomplete record at the end (torn write); truncating');
          this.options.onCorruptRecord?.('torn_tail');
          const fd = openSync(path, 'r+');
          ftruncateSync(fd, validEnd);
          closeSync(fd);
          break;
        }
        const reason = outcome.kind === 'corrupt' ? outcome.reason : 'truncated record';
        this.options.logger.error({ journal: this.options.name, file, offset, reason, skippedBytes: (next < 0 ? data.length : next) - offset }, 'journal: damaged record skipped');
        this.options.onCorruptRecord?.(reason);
        if (next < 0) break;
        offset = next;
        validEnd = next;
      }
      segment.size = isLastFile(fileIndex, files.length) ? validEnd : statSync(path).size;
      if (segment.lastSeq === 0) segment.lastSeq = segment.firstSeq;
      this.segments.push(segment);
    });
    this.entries.sort((a, b) => a.seq - b.seq);
    this.seq = highest + 1;
    this.deleteAcknowledgedSegments();
  }
}

function isLastFile(index: number, count: number): boolean {
  return index === count - 1;
}

const RESERVATION_FILE = 'reserved.json';
/** Sequence numbers reserved (and synced) at a time: one sync per this many appends. */
const RESERVATION_BLOCK = 256;

/**
 * This boot of the machine (Linux): an unclean stop within the same boot was a process dying, whose
 * written entries all survive; across boots it may have been a power cut. Undefined elsewhere, where
 * every unclean stop is treated as a possible power cut.
 */
const BOOT_ID: string | undefined = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
})();

function readReservation(dir: string): { reservedThrough: number; clean: boolean; bootId?: string; skipped: [number, number][] } {
  const file = join(dir, RESERVATION_FILE);
  if (!existsSync(file)) return { reservedThrough: 0, clean: true, skipped: [] };
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { reservedThrough?: unknown; clean?: unknown; bootId?: unknown; skipped?: unknown };
    const skipped = Array.isArray(saved.skipped) ? saved.skipped.filter((r): r is [number, number] => Array.isArray(r) && r.length === 2 && r.every(Number.isSafeInteger)) : [];
    return { reservedThrough: Number.isSafeInteger(saved.reservedThrough) && (saved.reservedThrough as number) >= 0 ? (saved.reservedThrough as number) : 0, clean: saved.clean === true, ...(typeof saved.bootId === 'string' ? { bootId: saved.bootId } : {}), skipped };
  } catch {
    // Written whole then renamed, so damage means the disk lied: number on from what is on it.
    return { reservedThrough: 0, clean: false, skipped: [] };
  }
}

function readAckedThrough(dir: string): number {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return 0;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as { ackedThrough?: unknown };
    return typeof state.ackedThrough === 'number' && state.ackedThrough >= 0 ? state.ackedThrough : 0;
  } catch {
    // A damaged state file only means some entries are delivered twice; the cloud ignores repeats.
    return 0;
  }
}
