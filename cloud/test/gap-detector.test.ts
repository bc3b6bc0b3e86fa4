import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandCodec } from '@gatehouse/contracts';
import { createCloudMetrics, createPgliteClient, GapDetector, migrate, SiteRegistry, type SqlClient } from '@gatehouse/cloud';

const gw = { site: 'garden', gateway: 'gw-01' };
const stream = (ackedThrough: number) => ({ nextSeq: ackedThrough + 1, ackedThrough, backlogEntries: 0, backlogItems: 0, oldestPendingTs: null, drainPerSecond: 0, bytes: 0 });

describe('gap detector', () => {
  let db: SqlClient;
  let registry: SiteRegistry;
  const published: { topic: string; args: unknown }[] = [];
  let detector: GapDetector;

  beforeAll(async () => {
    db = await createPgliteClient(undefined);
    await migrate(db);
    registry = new SiteRegistry(db);
    detector = new GapDetector({
      db,
      publish: async (topic, payload) => {
        const decoded = commandCodec.decode(payload);
        published.push({ topic, args: decoded.ok ? decoded.value.args : undefined });
      },
      logger: pino({ level: 'silent' }),
      metrics: createCloudMetrics(),
      checkEveryMs: 1000,
      graceMs: 5000,
      resendEveryMs: 60_000,
    });
  });
  afterAll(() => db.close());

  it('finds what a gateway delivered but the cloud never stored, between batches and after the last', async () => {
    await registry.recordGatewayState(gw, { status: 'online', streams: { telemetry: stream(20), events: stream(0) } });
    for (const [a, b] of [[1, 5], [8, 10], [12, 15]]) await registry.recordBatch(gw, 'telemetry', a!, b!, false);
    expect(await detector.missing()).toEqual([
      { ...gw, stream: 'telemetry', from: 6, to: 7 },
      { ...gw, stream: 'telemetry', from: 11, to: 11 },
      { ...gw, stream: 'telemetry', from: 16, to: 20 },
    ]);
  });

  it('asks for a range only once it has been missing for the grace period, and not again too soon', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    expect(await detector.checkAndRequest(t0)).toEqual([]);
    expect(published).toEqual([]);
    const requested = await detector.checkAndRequest(t0 + 6000);
    expect(requested).toHaveLength(3);
    expect(published[0]).toEqual({ topic: 'gh/v1/garden/gw-01/cmd/resend', args: { stream: 'telemetry', from: 6, to: 7 } });
    expect(await detector.checkAndRequest(t0 + 7000)).toEqual([]);
  });

  it('forgets ranges once they are stored', async () => {
    await registry.recordBatch(gw, 'telemetry', 6, 7, true);
    await registry.recordBatch(gw, 'telemetry', 11, 11, true);
    await registry.recordBatch(gw, 'telemetry', 16, 20, true);
    expect(await detector.missing()).toEqual([]);
  });

  it('merges unbroken runs of stored ranges into one row, leaving gaps visible', async () => {
    const other = { site: 'garden', gateway: 'gw-02' };
    await registry.recordGatewayState(other, { status: 'online', streams: { telemetry: stream(40), events: stream(0) } });
    for (const [a, b] of [[1, 10], [11, 20], [21, 25], [31, 40]]) await registry.recordBatch(other, 'telemetry', a!, b!, false);
    expect(await detector.mergeContiguousRanges()).toBeGreaterThan(0);
    const rows = await db.query<{ first_seq: number; last_seq: number }>("SELECT first_seq, last_seq FROM received_batches WHERE gateway = 'gw-02' ORDER BY first_seq");
    expect(rows).toEqual([
      { first_seq: 1, last_seq: 25 },
      { first_seq: 31, last_seq: 40 },
    ]);
    expect(await detector.missing()).toEqual([{ ...other, stream: 'telemetry', from: 26, to: 30 }]);
    // A replayed batch arriving again for a merged range changes nothing.
    await registry.recordBatch(other, 'telemetry', 11, 20, true);
    await detector.mergeContiguousRanges();
    expect(await detector.missing()).toEqual([{ ...other, stream: 'telemetry', from: 26, to: 30 }]);
  });
});

describe('gap detector: the start of a stream', () => {
  it('asks for the entries before the first stored batch (published before any cloud had subscribed), a million at most at a time', async () => {
    const db = await createPgliteClient(undefined);
    await migrate(db);
    const registry = new SiteRegistry(db);
    const published: unknown[] = [];
    const detector = new GapDetector({
      db,
      publish: async (_topic, payload) => {
        const decoded = commandCodec.decode(payload);
        published.push(decoded.ok ? decoded.value.args : undefined);
      },
      logger: pino({ level: 'silent' }),
      metrics: createCloudMetrics(),
      checkEveryMs: 1000,
      graceMs: 0,
      resendEveryMs: 60_000,
    });
    await registry.recordGatewayState(gw, { status: 'online', streams: { telemetry: stream(30), events: stream(3_000_000) } });
    await registry.recordBatch(gw, 'telemetry', 11, 30, false);
    await registry.recordBatch(gw, 'events', 2_500_000, 3_000_000, false);
    expect(await detector.missing()).toEqual([
      { ...gw, stream: 'events', from: 1, to: 2_499_999 },
      { ...gw, stream: 'telemetry', from: 1, to: 10 },
    ]);
    await detector.checkAndRequest(Date.now());
    expect(published).toEqual([
      { stream: 'events', from: 1, to: 999_999 },
      { stream: 'telemetry', from: 1, to: 10 },
    ]);
    await db.close();
  });
});
