import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { serializeReadings, type Reading } from '@gatehouse/contracts';
import { compactReadings, Journal, type EntryData } from '@gatehouse/edge';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const isCounter = (_device: string, metric: string) => metric === 'import_energy';

function poll(i: number, energy: number, power: number, quality: Reading['quality'] = 'good'): Reading[] {
  const ts = T0 + i * MIN;
  return [
    { device: 'm1', metric: 'import_energy', unit: 'kWh', ts, value: energy, quality: quality === 'counter_jump' ? 'counter_jump' : 'good' },
    quality === 'comm_error'
      ? { device: 'm1', metric: 'active_power', unit: 'W', ts, value: null, quality: 'comm_error', detail: 'timed out' }
      : { device: 'm1', metric: 'active_power', unit: 'W', ts, value: power, quality: 'good' },
  ];
}

const entry = (seq: number, readings: Reading[]): EntryData => ({ firstSeq: seq, seq, ts: readings[0]!.ts, count: readings.length, payload: Buffer.from(serializeReadings(readings)) });
const readingsOf = (entries: EntryData[]) => entries.flatMap((e) => JSON.parse(`[${e.payload.toString()}]`) as Reading[]);

/** Consumption: the sum of steps into good counter readings from the previous good one. */
function consumption(readings: Reading[]): number {
  let total = 0;
  let base: number | undefined;
  for (const r of readings.filter((x) => x.metric === 'import_energy').sort((a, b) => a.ts - b.ts)) {
    if (r.quality !== 'good' || r.value === null) continue;
    if (base !== undefined) total += r.value - base;
    base = r.value;
  }
  return total;
}

describe('compacting readings', () => {
  const entries: EntryData[] = [];
  // 30 polls a minute apart (two 15-minute intervals); a communication error at 7, an energy glitch at 20.
  for (let i = 0; i < 30; i++) {
    const quality = i === 7 ? 'comm_error' : i === 20 ? 'counter_jump' : 'good';
    entries.push(entry(i + 1, poll(i, i === 20 ? 999_999 : 1000 + i * 0.5, 100 + i, quality)));
  }
  const compacted = compactReadings({ intervalMs: 15 * MIN, isCounter, maxReadingsPerEntry: 2000 })(entries);

  it('covers the same sequence numbers with one entry per interval', () => {
    expect(compacted.map((e) => [e.firstSeq, e.seq])).toEqual([
      [1, 15],
      [16, 30],
    ]);
  });

  it('keeps energy consumption exactly, and every flagged counter reading', () => {
    const before = readingsOf(entries);
    const after = readingsOf(compacted);
    expect(consumption(after)).toBe(consumption(before));
    expect(after.filter((r) => r.quality === 'counter_jump').map((r) => r.value)).toEqual([999_999]);
    expect(after.filter((r) => r.metric === 'import_energy' && r.quality === 'good').map((r) => r.value)).toEqual([1000, 1007, 1007.5, 1014.5]);
  });

  it('turns good gauge readings into their mean, min, max and count', () => {
    const power = readingsOf(compacted).filter((r) => r.metric === 'active_power' && r.quality === 'good');
    const first = [100, 101, 102, 103, 104, 105, 106, 108, 109, 110, 111, 112, 113, 114];
    expect(power[0]).toMatchObject({ value: first.reduce((a, b) => a + b, 0) / first.length, ts: T0 + 14 * MIN, aggregate: { count: 14, min: 100, max: 114, from: T0 } });
    expect(power[1]?.aggregate?.count).toBe(15);
  });

  it('keeps the first reading of each bad quality, with how many there were', () => {
    const errors = readingsOf(compacted).filter((r) => r.quality === 'comm_error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.detail).toBe('timed out');
  });
});

describe('compacting a large, failing site', () => {
  it('summarises communication errors and never makes an entry larger than a batch', () => {
    // 60 counter points of an unreachable meter, 180 polls in one interval, plus good readings of another.
    const entries: EntryData[] = [];
    for (let i = 0; i < 180; i++) {
      const ts = T0 + i * 1000;
      const readings: Reading[] = [
        ...Array.from({ length: 60 }, (_, p) => ({ device: 'dead', metric: `energy_${p}`, unit: 'kWh', ts, value: null, quality: 'comm_error' as const, detail: 'timed out' })),
        ...Array.from({ length: 60 }, (_, p) => ({ device: 'alive', metric: `energy_${p}`, unit: 'kWh', ts, value: 1000 + i + p, quality: 'good' as const })),
      ];
      entries.push(entry(i + 1, readings));
    }
    const out = compactReadings({ intervalMs: 15 * MIN, isCounter: () => true, maxReadingsPerEntry: 50 })(entries);
    expect(out.every((e) => e.count <= 50)).toBe(true);
    const all = readingsOf(out);
    // 60 summarised errors + first and last good of 60 counters.
    expect(all).toHaveLength(60 + 120);
    expect(all.find((r) => r.device === 'dead')?.detail).toBe('timed out (180 readings in this interval)');
    // The entries cover 1..180 without overlap or holes.
    expect(out[0]?.firstSeq).toBe(1);
    expect(out.at(-1)?.seq).toBe(180);
    for (let i = 1; i < out.length; i++) expect(out[i]!.firstSeq).toBe(out[i - 1]!.seq + 1);
  });
});

describe('journal compaction on disk', () => {
  it.each([
    [8 * 1024, 5],
    [16 * 1024, 15],
    [64 * 1024, 60],
  ])('segments of %i bytes, %i-minute intervals: shrinks the oldest segments, keeps coverage, survives a restart', async (segmentBytes, minutes) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-compact-'));
    const options = { dir, name: 'telemetry', fsync: 'interval' as const, fsyncIntervalMs: 100, groupCommitMs: 1, segmentBytes, cacheBytes: 0, logger: pino({ level: 'silent' }) };
    const journal = Journal.open(options);
    for (let i = 0; i < 300; i++) journal.append(Buffer.from(serializeReadings(poll(i, 1000 + i, 50 + (i % 7)))), 2, T0 + i * MIN);
    await journal.flush();
    const before = journal.diskBytes();
    const readingsBefore = readingsOf(journal.readRange(1, 300));
    let saved = 0;
    for (let s; (s = journal.compactOldest(compactReadings({ intervalMs: minutes * MIN, isCounter, maxReadingsPerEntry: 2000 }))) > 0; ) saved += s;
    expect(saved).toBeGreaterThan(0);
    expect(journal.diskBytes()).toBe(before - saved);

    const coverage = journal.unacknowledged().map((e) => [e.firstSeq, e.seq]);
    expect(coverage[0]?.[0]).toBe(1);
    expect(coverage.at(-1)?.[1]).toBe(300);
    for (let i = 1; i < coverage.length; i++) expect(coverage[i]![0], JSON.stringify(coverage)).toBe((coverage[i - 1]![1] ?? 0) + 1);
    await journal.close();

    const reopened = Journal.open(options);
    expect(reopened.unacknowledged().map((e) => [e.firstSeq, e.seq])).toEqual(coverage);
    const readingsAfter = readingsOf(reopened.readRange(1, 300));
    expect(consumption(readingsAfter)).toBe(consumption(readingsBefore));
    expect(readingsAfter.length).toBeLessThan(readingsBefore.length);
    await reopened.close();
  });
});
