import type { Reading } from '@gatehouse/contracts';
import { serializeReadings } from '@gatehouse/contracts';
import type { CompactionTransform, EntryData } from './journal.js';

export interface ReadingsCompactionOptions {
  /** width of the intervals readings are compacted into */
  intervalMs: number;
  /** readings in one compacted entry at most (one entry is published as one batch) */
  maxReadingsPerEntry: number;
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
      // Too many readings for one batch (a site with many devices): split the interval's readings over
      // several entries; the first ones stand for the sequence numbers, the others take the last one.
      const max = Math.max(1, options.maxReadingsPerEntry);
      const firstSeq = group[0]!.firstSeq;
      const lastSeq = group[group.length - 1]!.seq;
      const chunks = Math.max(1, Math.ceil(compacted.length / max));
      for (let c = 0; c < chunks; c++) {
        const part = compacted.slice(c * max, (c + 1) * max);
        // Each chunk covers its own slice of the group's sequence numbers so that ranges never overlap.
        const span = lastSeq - firstSeq + 1;
        const from = firstSeq + Math.floor((span * c) / chunks);
        const to = c === chunks - 1 ? lastSeq : firstSeq + Math.floor((span * (c + 1)) / chunks) - 1;
        if (to < from) {
          // Fewer sequence numbers than chunks: append to the previous entry's readings instead.
          const prev = out[out.length - 1]!;
          const merged = [...(JSON.parse(`[${prev.payload.toString('utf8')}]`) as Reading[]), ...part];
          out[out.length - 1] = { ...prev, count: merged.length, payload: Buffer.from(serializeReadings(merged)) };
          continue;
        }
        out.push({ firstSeq: from, seq: to, ts: group[group.length - 1]!.ts, count: part.length, payload: Buffer.from(serializeReadings(part)) });
      }
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
      // consumption adds up exactly whatever came before; counter flags stay, as they mark where a
      // baseline restarts or a glitch was ignored. Readings without a value are summarised below.
      const firstGood = good[0];
      const lastGood = good[good.length - 1];
      for (const r of series) if (r === firstGood || r === lastGood || (r.quality.startsWith('counter_') && r.value !== null)) out.push(r);
      out.push(...summariseBad(series.filter((r) => r.quality !== 'good' && !(r.quality.startsWith('counter_') && r.value !== null))));
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
    out.push(...summariseBad(series.filter((r) => r.quality !== 'good')));
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** The first reading of each quality, its detail saying how many there were. */
function summariseBad(readings: Reading[]): Reading[] {
  const firstOfQuality = new Map<string, { reading: Reading; count: number }>();
  for (const r of readings) {
    const seen = firstOfQuality.get(r.quality);
    if (seen) seen.count++;
    else firstOfQuality.set(r.quality, { reading: r, count: 1 });
  }
  return [...firstOfQuality.values()].map(({ reading, count }) =>
    count === 1 ? reading : { ...reading, detail: `${reading.detail ?? reading.quality} (${count} readings in this interval)`.slice(0, 256) },
  );
}
