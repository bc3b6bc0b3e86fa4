import type { Reading } from '@gatehouse/contracts';
import { serializeReadings } from '@gatehouse/contracts';
import type { CompactionTransform, EntryData } from './journal.js';

export interface ReadingsCompactionOptions {
  /** width of the intervals readings are compacted into */
  intervalMs: number;
  /** whether a device's metric is a cumulative counter (energy, volume) */
  isCounter: (device: string, metric: string) => boolean;
}

/**
 * Compaction of readings for a journal over its disk budget. Per interval, device and metric:
 * - counters keep their first and last good readings, and every flagged one (reset, rollover,
 *   glitch): the sum of steps between good readings (the consumption) is exactly what it was;
 * - gauges keep one reading: the mean of the good ones, with their count, min and max;
 * - readings without a good quality (communication errors, exceptions) keep the first of each kind,
 *   its detail noting how many there were.
 * One entry comes out per interval, covering the sequence numbers of the entries that went into it.
 */
export function compactReadings(options: ReadingsCompactionOptions): CompactionTransform {
  return (entries: EntryData[]) => {
    const out: EntryData[] = [];
    let group: EntryData[] = [];
    let groupBucket = Number.NaN;
    const flush = () => {
      if (group.length === 0) return;
      const readings = group.flatMap((e) => JSON.parse(`[${e.payload.toString('utf8')}]`) as Reading[]);
      const compacted = compactGroup(readings, options.isCounter);
      out.push({
        firstSeq: group[0]!.firstSeq,
        seq: group[group.length - 1]!.seq,
        ts: group[group.length - 1]!.ts,
        count: compacted.length,
        payload: Buffer.from(serializeReadings(compacted)),
      });
      group = [];
    };
    for (const entry of entries) {
      const bucket = Math.floor(entry.ts / options.intervalMs);
      const contiguous = group.length === 0 || entry.firstSeq === group[group.length - 1]!.seq + 1;
      if (bucket !== groupBucket || !contiguous) {
        flush();
        groupBucket = bucket;
      }
      group.push(entry);
    }
    flush();
    return out;
  };
}

function compactGroup(readings: Reading[], isCounter: (device: string, metric: string) => boolean): Reading[] {
  const bySeries = new Map<string, Reading[]>();
  for (const r of readings) {
    const key = `${r.device}\u0000${r.metric}`;
    let list = bySeries.get(key);
    if (!list) bySeries.set(key, (list = []));
    list.push(r);
  }
  const out: Reading[] = [];
  for (const series of bySeries.values()) {
    const first = series[0]!;
    const good = series.filter((r) => r.quality === 'good' && r.value !== null);
    if (isCounter(first.device, first.metric)) {
      // The first and last good readings of each interval keep every step between intervals, so the
      // consumption adds up exactly whatever came before; flagged readings stay, as they mark where a
      // baseline restarts or a glitch was ignored.
      const firstGood = good[0];
      const lastGood = good[good.length - 1];
      for (const r of series) if (r.quality !== 'good' || r === firstGood || r === lastGood) out.push(r);
      continue;
    }
    if (good.length > 0) {
      const values = good.map((r) => r.value as number);
      const last = good[good.length - 1]!;
      out.push({
        device: last.device,
        metric: last.metric,
        unit: last.unit,
        ts: last.ts,
        value: values.reduce((a, b) => a + b, 0) / values.length,
        quality: 'good',
        aggregate: { count: values.length, min: Math.min(...values), max: Math.max(...values), from: good[0]!.ts },
      });
    }
    const firstOfQuality = new Map<string, { reading: Reading; count: number }>();
    for (const r of series) {
      if (r.quality === 'good') continue;
      const seen = firstOfQuality.get(r.quality);
      if (seen) seen.count++;
      else firstOfQuality.set(r.quality, { reading: r, count: 1 });
    }
    for (const { reading, count } of firstOfQuality.values()) {
      out.push(count === 1 ? reading : { ...reading, detail: `${reading.detail ?? reading.quality} (${count} readings in this interval)`.slice(0, 256) });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}
