import { describe, expect, it } from 'vitest';
import { telemetryCodec, telemetryPayload, type Reading } from '@gatehouse/contracts';
import { TelemetryOutbox } from '@gatehouse/edge';

const reading = (i: number): Reading => ({ device: 'm1', metric: 'active_power', unit: 'W', ts: Date.UTC(2026, 0, 1) + i * 1000, value: i, quality: 'good' });
const readings = (from: number, count: number) => Array.from({ length: count }, (_, i) => reading(from + i));

describe('telemetry outbox', () => {
  it('cuts sequence-numbered batches of at most maxBatchReadings, in order', () => {
    const outbox = new TelemetryOutbox({ maxBatchReadings: 10, maxQueuedReadings: 1000, firstSeq: 7, onDrop: () => undefined });
    outbox.add(readings(0, 6));
    outbox.add(readings(6, 6));
    outbox.add(readings(12, 25));
    expect(outbox.cut()).toBe(5);
    const batches = outbox.unsent(100);
    expect(batches.map((b) => [b.seq, b.count])).toEqual([
      [7, 6],
      [8, 6],
      [9, 10],
      [10, 10],
      [11, 5],
    ]);
    const decoded = batches.map((b) => telemetryCodec.decode(telemetryPayload({ seq: b.seq, sentAt: Date.UTC(2026, 0, 1), historical: false }, b.fragments)));
    const all = decoded.flatMap((d) => (d.ok ? d.value.readings : []));
    expect(all).toEqual(readings(0, 37));
    expect(outbox.nextSeq).toBe(12);
  });

  it('releases readings only when their batch is acknowledged', () => {
    const outbox = new TelemetryOutbox({ maxBatchReadings: 10, maxQueuedReadings: 1000, firstSeq: 0, onDrop: () => undefined });
    outbox.add(readings(0, 15));
    outbox.cut();
    const [first, second] = outbox.unsent(2);
    first!.inFlight = true;
    expect(outbox.unsent(10)).toEqual([second]);
    expect(outbox.size).toBe(15);
    outbox.acknowledge(first!);
    expect(outbox.size).toBe(5);
    expect(outbox.inFlightCount).toBe(0);
  });

  it('when full, drops the oldest unsent batch and says how many readings went', () => {
    const dropped: number[] = [];
    const outbox = new TelemetryOutbox({ maxBatchReadings: 10, maxQueuedReadings: 20, firstSeq: 0, onDrop: (n) => dropped.push(n) });
    outbox.add(readings(0, 10));
    outbox.cut();
    outbox.add(readings(10, 10));
    outbox.cut();
    outbox.add(readings(20, 5));
    expect(dropped).toEqual([10]);
    expect(outbox.size).toBe(15);
    expect(outbox.unsent(10).map((b) => b.seq)).toEqual([1]);
  });
});
