import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Journal, type JournalOptions } from '@gatehouse/edge';

const silent = pino({ level: 'silent' });

function options(dir: string, overrides: Partial<JournalOptions> = {}): JournalOptions {
  return { dir, name: 'telemetry', fsync: 'interval', fsyncIntervalMs: 50, groupCommitMs: 2, segmentBytes: 4096, cacheBytes: 1024, logger: silent, ...overrides };
}

const payload = (i: number) => Buffer.from(JSON.stringify({ reading: i, pad: 'p'.repeat(100) }));
const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

describe('journal', () => {
  it('recovers every entry after a restart, payloads intact, numbering continued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-journal-'));
    const journal = Journal.open(options(dir));
    for (let i = 0; i < 100; i++) expect(journal.append(payload(i), 1)).toBe(i + 1);
    await journal.close();
    expect(segmentFiles(dir).length).toBeGreaterThan(1);

    const reopened = Journal.open(options(dir));
    expect(reopened.all.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(reopened.payloads(reopened.all).map((p) => JSON.parse(p.toString()).reading)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(reopened.append(payload(100), 1)).toBe(101);
    await reopened.close();
  });

  it('forgets acknowledged entries, deletes their segments, and remembers the watermark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-journal-'));
    const journal = Journal.open(options(dir));
    for (let i = 0; i < 100; i++) journal.append(payload(i), 1);
    await journal.flush();
    const before = segmentFiles(dir).length;
    // Acknowledged out of order: 61-70 first, then 1-60; 71-100 stay.
    journal.acknowledge(journal.all.slice(60, 70));
    expect(journal.ackedThrough).toBe(0);
    journal.acknowledge(journal.all.slice(0, 60));
    expect(journal.ackedThrough).toBe(70);
    expect(journal.unacknowledged()[0]?.seq).toBe(71);
    expect(segmentFiles(dir).length).toBeLessThan(before);
    await journal.close();

    const reopened = Journal.open(options(dir));
    expect(reopened.all.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 71));
    expect(reopened.nextSeq).toBe(101);
    await reopened.close();
  });

  it('cuts a torn write at the end and carries on appending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-journal-'));
    const journal = Journal.open(options(dir, { segmentBytes: 1_000_000 }));
    for (let i = 0; i < 10; i++) journal.append(payload(i), 1);
    await journal.close();
    const file = join(dir, segmentFiles(dir)[0]!);
    truncateSync(file, statSync(file).size - 7);

    const damage: string[] = [];
    const reopened = Journal.open(options(dir, { segmentBytes: 1_000_000, onCorruptRecord: (r) => damage.push(r) }));
    expect(damage).toEqual(['torn_tail']);
    expect(reopened.all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Number 10 was handed out (and may have been published) before its record was torn: not reused.
    expect(reopened.append(payload(99), 1)).toBe(11);
    await reopened.close();
    const again = Journal.open(options(dir, { segmentBytes: 1_000_000 }));
    expect(again.all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
    expect(JSON.parse(again.payloads(again.all.slice(-1))[0]!.toString()).reading).toBe(99);
    await again.close();
  });

  it('skips a damaged record in the middle and keeps the rest readable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-journal-'));
    const journal = Journal.open(options(dir, { segmentBytes: 1_000_000 }));
    for (let i = 0; i < 10; i++) journal.append(payload(i), 1);
    await journal.close();
    const file = join(dir, segmentFiles(dir)[0]!);
    const bytes = readFileSync(file);
    // A flipped bit in the payload of the fifth record.
    const recordBytes = 32 + bytes.readUInt32BE(4);
    bytes[4 * recordBytes + 50] = (bytes[4 * recordBytes + 50] ?? 0) ^ 0x01;
    writeFileSync(file, bytes);

    const damage: string[] = [];
    const reopened = Journal.open(options(dir, { onCorruptRecord: (r) => damage.push(r) }));
    expect(damage).toEqual(['CRC mismatch']);
    const seqs = reopened.all.map((e) => e.seq);
    expect(seqs).toHaveLength(9);
    expect(seqs).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    expect(reopened.payloads(reopened.all)).toHaveLength(9);
    await reopened.close();
  });

  it('loses nothing it reported written when the process is killed with SIGKILL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-journal-'));
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/journal-writer.mjs', import.meta.url)), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lastWritten = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        for (const m of chunk.toString().matchAll(/written (\d+)/g)) lastWritten = Number(m[1]);
        if (lastWritten > 5000) child.kill('SIGKILL');
      });
      child.once('exit', () => resolve());
    });
    expect(lastWritten).toBeGreaterThan(5000);
    const damage: string[] = [];
    const journal = Journal.open(options(dir, { segmentBytes: 64 * 1024, onCorruptRecord: (r) => damage.push(r) }));
    const seqs = journal.all.map((e) => e.seq);
    // Every entry up to the last reported write is there, in order, without holes; at most a torn tail was cut.
    expect(seqs.length).toBeGreaterThanOrEqual(lastWritten);
    expect(seqs.slice(0, lastWritten)).toEqual(Array.from({ length: lastWritten }, (_, i) => i + 1));
    expect(damage.every((d) => d === 'torn_tail')).toBe(true);
    const payloads = journal.payloads(journal.all.slice(0, lastWritten)).map((p) => JSON.parse(p.toString()).n as number);
    expect(payloads).toEqual(Array.from({ length: lastWritten }, (_, i) => i));
    await journal.close();
  });
});

describe('a saved device position and the journal', () => {
  it('never saves a position ahead of what the journal holds on disk, whenever the process is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-state-'));
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/state-saver.mjs', import.meta.url)), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        // Killed just after a save, with events appended since still in the group-commit buffer.
        if (/saved 5/.test(chunk.toString())) child.kill('SIGKILL');
      });
      child.once('exit', () => resolve());
    });
    const saved = (JSON.parse(readFileSync(join(dir, 'device-state.json'), 'utf8')) as Record<string, { lastSerialNo: number }>)['panel-1']!.lastSerialNo;
    expect(saved).toBeGreaterThan(0);
    const journal = Journal.open(options(join(dir, 'journal-events'), { name: 'events', segmentBytes: 1024 * 1024 }));
    const serials = journal.payloads(journal.all).map((p) => (JSON.parse(p.toString()) as { serialNo: number }).serialNo);
    await journal.close();
    // Every event up to the saved position is in the journal: a restart resumes after it and loses none.
    expect(serials.slice(0, saved)).toEqual(Array.from({ length: saved }, (_, i) => i + 1));
  });
});

describe('journal numbering across a power cut', () => {
  it('numbers on without a gap after the process dies on a machine that kept running (everything written survives)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-journal-'));
    const journal = Journal.open(options(dir, { segmentBytes: 1_000_000, fsyncIntervalMs: 60_000 }));
    for (let i = 0; i < 60; i++) journal.append(payload(i), 1);
    await journal.flush();
    // Killed: not closed, nothing synced, but the OS keeps what was written.
    const reopened = Journal.open(options(dir, { segmentBytes: 1_000_000 }));
    expect(reopened.all.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(reopened.nextSeq).toBe(61);
    expect(reopened.skippedRanges()).toEqual([]);
    await reopened.close();
    await journal.close();
  });

  it('never hands out again a number that may have been published, when a power cut takes unsynced entries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-journal-'));
    const journal = Journal.open(options(dir, { segmentBytes: 1_000_000, fsyncIntervalMs: 60_000 }));
    for (let i = 0; i < 10; i++) journal.append(payload(i), 1);
    await journal.makeDurable();
    const segment = join(dir, segmentFiles(dir)[0]!);
    const durableBytes = statSync(segment).size;
    // Written (and so published) but not yet synced when the power goes.
    for (let i = 10; i < 60; i++) journal.append(payload(i), 1);
    await journal.flush();
    const published = journal.all.at(-1)!.seq;
    expect(published).toBe(60);
    // The power cut: the unsynced tail never reached the disk, the process is gone without closing, and
    // the machine comes back with a new boot id.
    truncateSync(segment, durableBytes);
    const reservation = join(dir, 'reserved.json');
    writeFileSync(reservation, JSON.stringify({ ...JSON.parse(readFileSync(reservation, 'utf8')), bootId: 'an-earlier-boot' }));

    const reopened = Journal.open(options(dir, { segmentBytes: 1_000_000 }));
    expect(reopened.all.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(reopened.nextSeq).toBeGreaterThan(published);
    // What was skipped is known, for the cloud's resend requests.
    expect(reopened.skippedRanges()).toEqual([[11, reopened.nextSeq - 1]]);
    await reopened.close();

    // A clean stop gives back what it did not use: no gap at the next start.
    const again = Journal.open(options(dir, { segmentBytes: 1_000_000 }));
    const next = again.nextSeq;
    expect(again.append(payload(0), 1)).toBe(next);
    await again.close();
    const last = Journal.open(options(dir, { segmentBytes: 1_000_000 }));
    expect(last.nextSeq).toBe(next + 1);
    expect(last.skippedRanges()).toHaveLength(1);
    await last.close();
  });
});
