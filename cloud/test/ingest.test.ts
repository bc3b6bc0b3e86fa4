import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandResultCodec, eventBatchCodec, gatewayStateCodec, telemetryCodec, topics, type Reading } from '@gatehouse/contracts';
import {
  createCloudMetrics,
  createPgliteClient,
  DeadLetterStore,
  EventStore,
  IngestService,
  migrate,
  SiteRegistry,
  SqlTimeSeriesStore,
  type SqlClient,
} from '@gatehouse/cloud';

const gw = { site: 'sunrise-garden', gateway: 'gw-01' };
const t0 = Date.UTC(2026, 10, 26, 0, 0, 0);

function readings(count: number, start = t0): Reading[] {
  return Array.from({ length: count }, (_, i) => ({ device: 'b1-main', metric: 'active_power', unit: 'W', ts: start + i * 1000, value: 1000 + i * 0.5, quality: 'good' as const }));
}

describe('ingest into PGlite', () => {
  let db: SqlClient;
  let ingest: IngestService;
  let timeSeries: SqlTimeSeriesStore;
  let registry: SiteRegistry;
  let deadLetters: DeadLetterStore;
  const metrics = createCloudMetrics();

  beforeAll(async () => {
    db = await createPgliteClient(undefined);
    await migrate(db);
    timeSeries = new SqlTimeSeriesStore(db);
    registry = new SiteRegistry(db);
    deadLetters = new DeadLetterStore(db);
    ingest = new IngestService({ timeSeries, events: new EventStore(db), registry, deadLetters, metrics, logger: pino({ level: 'silent' }) });
  });

  afterAll(() => db.close());

  it('migrates once: a second run applies nothing', async () => {
    expect(await migrate(db)).toEqual([]);
  });

  it('stores a batch with its exact values, and a replay changes nothing', async () => {
    const payload = telemetryCodec.encode({ v: 1, seq: 1, lastSeq: 5, sentAt: t0, readings: readings(50) });
    expect(await ingest.handle(topics.telemetry(gw), payload)).toEqual({ result: 'stored', kind: 'telemetry', inserted: 50, duplicates: 0 });
    expect(await ingest.handle(topics.telemetry(gw), payload)).toEqual({ result: 'stored', kind: 'telemetry', inserted: 0, duplicates: 50 });

    const stored = await timeSeries.query({ ...gw, device: 'b1-main', metric: 'active_power', from: t0, to: t0 + 3_600_000, limit: 1000 });
    expect(stored.unit).toBe('W');
    expect(stored.points).toEqual(readings(50).map((r) => ({ ts: r.ts, value: r.value, quality: 'good' })));
  });

  it('dead-letters a malformed payload with its reason and keeps ingesting', async () => {
    const before = (await deadLetters.list(100)).length;
    const bad = Buffer.from(JSON.stringify({ v: 1, seq: 6, lastSeq: 6, sentAt: t0, readings: [{ ...readings(1)[0], value: 'NaN' }] }));
    const outcome = await ingest.handle(topics.telemetry(gw), bad);
    expect(outcome).toEqual({ result: 'dead_letter', reason: 'telemetry batch: readings[0].value: Invalid input: expected number, received string' });
    expect(await ingest.handle(topics.telemetry(gw), Buffer.from('not json'))).toMatchObject({ result: 'dead_letter', reason: expect.stringMatching(/^telemetry batch: payload is not valid JSON/) });

    // The next valid batch from the same gateway is stored as usual.
    const next = telemetryCodec.encode({ v: 1, seq: 7, lastSeq: 8, sentAt: t0, readings: readings(10, t0 + 100_000) });
    expect(await ingest.handle(topics.telemetry(gw), next)).toMatchObject({ result: 'stored', inserted: 10 });

    const letters = await deadLetters.list(100);
    expect(letters.length - before).toBe(2);
    expect(letters[1]).toMatchObject({ topic: topics.telemetry(gw), reason: outcome.result === 'dead_letter' ? outcome.reason : '', size: bad.length });
  });

  it('dead-letters a message under a topic outside the scheme', async () => {
    expect(await ingest.handle('gh/v1/Bad Site/gw/telemetry', Buffer.from('{}'))).toEqual({
      result: 'dead_letter',
      reason: 'topic "gh/v1/Bad Site/gw/telemetry": site level is not a valid id',
    });
  });

  it('keeps gateways and devices with their last-seen times', async () => {
    const stream = { nextSeq: 9, ackedThrough: 8, backlogEntries: 0, backlogItems: 0, oldestPendingTs: null, drainPerSecond: 12.5, bytes: 0 };
    const birth = gatewayStateCodec.encode({ v: 1, status: 'online', ts: t0, version: '0.1.0', streams: { telemetry: stream, events: stream }, devices: [{ id: 'b1-main', kind: 'meter', driver: 'modbus+tcp', profile: 'eastron-sdm630', name: 'Building 1' }] });
    await ingest.handle(topics.state(gw), birth);
    expect(await registry.listGateways(gw.site)).toEqual([expect.objectContaining({ ...{ site: gw.site, id: gw.gateway }, status: 'online', version: '0.1.0', lastSeq: 8, streams: { telemetry: stream, events: stream } })]);
    const devices = await registry.listDevices(gw.site);
    expect(devices).toEqual([expect.objectContaining({ id: 'b1-main', gateway: 'gw-01', profile: 'eastron-sdm630', name: 'Building 1', lastSeen: t0 + 109_000 })]);

    await ingest.handle(topics.state(gw), gatewayStateCodec.encode({ v: 1, status: 'offline', ts: t0 }));
    expect((await registry.listGateways(gw.site))[0]?.status).toBe('offline');
    expect(await registry.listSites()).toEqual([{ id: gw.site, name: null, timeZone: 'Asia/Shanghai', gateways: 1, devices: 1 }]);
  });

  it('records the journal range of every stored batch, once', async () => {
    await ingest.handle(topics.telemetry(gw), telemetryCodec.encode({ v: 1, seq: 1, lastSeq: 5, sentAt: t0, readings: readings(50) }));
    const ranges = await db.query<{ first_seq: number; last_seq: number; historical: boolean }>(
      "SELECT first_seq, last_seq, historical FROM received_batches WHERE site = $1 AND stream = 'telemetry' ORDER BY first_seq",
      [gw.site],
    );
    expect(ranges).toEqual([
      { first_seq: 1, last_seq: 5, historical: false },
      { first_seq: 7, last_seq: 8, historical: false },
    ]);
  });

  it('dead-letters a message the database refuses outright, instead of retrying it forever', async () => {
    const payload = eventBatchCodec.encode({ v: 1, seq: 1, lastSeq: 1, sentAt: t0, events: [{ id: 'e-nul', device: 'door-1', type: 'tamper', ts: t0, reason: 'bad\u0000byte' }] });
    const outcome = await ingest.handle(topics.events(gw), payload);
    expect(outcome).toMatchObject({ result: 'dead_letter', reason: expect.stringMatching(/^storage refused the message: /) });
    // A valid event right after is stored as usual.
    const ok = eventBatchCodec.encode({ v: 1, seq: 2, lastSeq: 2, sentAt: t0, events: [{ id: 'e-ok', device: 'door-1', type: 'tamper', ts: t0 }] });
    expect(await ingest.handle(topics.events(gw), ok)).toMatchObject({ result: 'stored', inserted: 1 });
  });

  it('records the ranges a gateway can no longer resend as lost, so they are not asked for again', async () => {
    const result = commandResultCodec.encode({ v: 1, id: 'c-1', command: 'resend', status: 'ok', detail: 'resent 3 entries; 1 ranges no longer in the journal', data: { stream: 'telemetry', unavailable: [[100, 104]] }, ts: t0 });
    expect(await ingest.handle(topics.commandResult(gw), result)).toMatchObject({ result: 'stored', kind: 'cmd-result' });
    const rows = await db.query<{ first_seq: number; last_seq: number; lost: boolean }>('SELECT first_seq, last_seq, lost FROM received_batches WHERE site = $1 AND lost', [gw.site]);
    expect(rows).toEqual([{ first_seq: 100, last_seq: 104, lost: true }]);
  });
});
