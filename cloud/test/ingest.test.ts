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
  openTimeSeriesStore,
  type TimeSeriesStore,
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
  let timeSeries: TimeSeriesStore;
  let registry: SiteRegistry;
  let deadLetters: DeadLetterStore;
  const metrics = createCloudMetrics();

  beforeAll(async () => {
    db = await createPgliteClient(undefined);
    await migrate(db);
    timeSeries = await openTimeSeriesStore(db);
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
    expect(await ingest.handle(topics.telemetry(gw), payload)).toEqual({ result: 'stored', kind: 'telemetry', inserted: 50, duplicates: 0, rejected: 0 });
    expect(await ingest.handle(topics.telemetry(gw), payload)).toEqual({ result: 'stored', kind: 'telemetry', inserted: 0, duplicates: 50, rejected: 0 });

    const series = await timeSeries.series(gw.site, 'b1-main', 'active_power');
    expect(series).toMatchObject({ unit: 'W', kind: 'gauge' });
    const stored = await timeSeries.readRaw(series!, t0, t0 + 3_600_000, 1000);
    expect(stored).toEqual(readings(50).map((r) => ({ ts: r.ts, value: r.value, quality: 'good' })));
  });

  it('dead-letters a malformed payload with its reason and keeps ingesting', async () => {
    const before = (await deadLetters.list(100)).length;
    const notJson = Buffer.from('not json');
    expect(await ingest.handle(topics.telemetry(gw), notJson)).toMatchObject({ result: 'dead_letter', reason: expect.stringMatching(/^telemetry batch: payload is not valid JSON/) });
    const noSeq = Buffer.from(JSON.stringify({ v: 1, lastSeq: 6, sentAt: t0, readings: readings(1) }));
    expect(await ingest.handle(topics.telemetry(gw), noSeq)).toEqual({ result: 'dead_letter', reason: 'telemetry batch: seq: Invalid input: expected number, received undefined' });
    const oversized = Buffer.from(JSON.stringify({ v: 1, seq: 6, lastSeq: 6, sentAt: t0, readings: readings(5001) }));
    expect(await ingest.handle(topics.telemetry(gw), oversized)).toMatchObject({ result: 'dead_letter', reason: expect.stringContaining('readings: Too big: expected array to have <=5000 items') });

    // The next valid batch from the same gateway is stored as usual.
    const next = telemetryCodec.encode({ v: 1, seq: 7, lastSeq: 8, sentAt: t0, readings: readings(10, t0 + 100_000) });
    expect(await ingest.handle(topics.telemetry(gw), next)).toMatchObject({ result: 'stored', inserted: 10 });

    const letters = await deadLetters.list(100);
    expect(letters.length - before).toBe(3);
    expect(letters[0]).toMatchObject({ topic: topics.telemetry(gw), size: oversized.length });
  });

  it('refuses bad readings one by one, with the reason of each, and stores the rest of their batch', async () => {
    const good = readings(3, t0 + 200_000);
    const bad = [
      { ...good[0], ts: t0 + 210_000, value: 'NaN' },
      { ...good[0], ts: t0 + 211_000, value: '__INFINITY__' },
      { ...good[0], ts: Date.now() + 86_400_000 },
      { ...good[0], ts: Date.UTC(1999, 11, 31) },
      { ...good[0], ts: t0 + 212_000, metric: 'Active Power' },
    ];
    const payload = Buffer.from(JSON.stringify({ v: 1, seq: 9, lastSeq: 9, sentAt: t0, readings: [good[0], ...bad, good[1], good[2]] }).replace('"__INFINITY__"', '1e999'));
    const lettersBefore = (await deadLetters.list(100)).length;
    expect(await ingest.handle(topics.telemetry(gw), payload)).toEqual({ result: 'stored', kind: 'telemetry', inserted: 3, duplicates: 0, rejected: 5 });

    const series = await timeSeries.series(gw.site, 'b1-main', 'active_power');
    expect(await timeSeries.readRaw(series!, t0 + 200_000, t0 + 300_000, 100)).toEqual(good.map((r) => ({ ts: r.ts, value: r.value, quality: 'good' })));
    const letters = await deadLetters.list(100);
    expect(letters.length - lettersBefore).toBe(1);
    expect(letters[0]?.reason).toMatch(/^5 reading\(s\) refused, the rest of the batch stored: readings\[1\]\.value: Invalid input: expected number, received string; readings\[2\]\.value: Invalid input: expected number, received Infinity; readings\[3\]\.ts: .* is more than 600 s ahead of the cloud's clock \(\+2 more\)$/);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/gh_cloud_readings_rejected_total\{reason="invalid"\} 3/);
    expect(text).toMatch(/gh_cloud_readings_rejected_total\{reason="not_finite"\} 1/);
    expect(text).toMatch(/gh_cloud_readings_rejected_total\{reason="in_the_future"\} 1/);
  });

  it('stores readings of a device its gateway never declared, and counts them', async () => {
    const unknownCount = async () => (await metrics.readingsUnknownDevice.get()).values.reduce((n, v) => n + v.value, 0);
    const before = await unknownCount();
    const stray = readings(2, t0 + 400_000).map((r) => ({ ...r, device: 'mystery-meter' }));
    expect(await ingest.handle(topics.telemetry(gw), telemetryCodec.encode({ v: 1, seq: 10, lastSeq: 10, sentAt: t0, readings: stray }))).toMatchObject({ result: 'stored', inserted: 2 });
    // b1-main is not declared yet either (its gateway's birth message comes in the next test).
    expect((await unknownCount()) - before).toBe(2);
    const series = await timeSeries.series(gw.site, 'mystery-meter', 'active_power');
    expect(await timeSeries.readRaw(series!, t0, t0 + 3_600_000, 10)).toHaveLength(2);
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
    expect(await registry.listGateways(gw.site)).toEqual([expect.objectContaining({ ...{ site: gw.site, id: gw.gateway }, status: 'online', version: '0.1.0', lastSeq: 10, streams: { telemetry: stream, events: stream } })]);
    const devices = (await registry.listDevices(gw.site)).filter((d) => d.id === 'b1-main');
    expect(devices).toEqual([expect.objectContaining({ id: 'b1-main', gateway: 'gw-01', profile: 'eastron-sdm630', name: 'Building 1', lastSeen: t0 + 202_000 })]);

    await ingest.handle(topics.state(gw), gatewayStateCodec.encode({ v: 1, status: 'offline', ts: t0 }));
    expect((await registry.listGateways(gw.site))[0]?.status).toBe('offline');
    expect(await registry.listSites()).toEqual([{ id: gw.site, name: null, timeZone: 'Asia/Shanghai', gateways: 1, devices: 2 }]);
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
      { first_seq: 9, last_seq: 9, historical: false },
      { first_seq: 10, last_seq: 10, historical: false },
    ]);
  });

  it('refuses a malformed event on its own, with its reason, and stores the rest of its batch', async () => {
    const events = [
      { id: 'e-good-1', device: 'door-1', type: 'door_forced_open', ts: t0 },
      { id: 'e-bad', device: 'door-1', type: 'door_exploded', ts: t0 + 1 },
      { id: 'e-good-2', device: 'door-1', type: 'door_closed', ts: t0 + 2 },
    ];
    const lettersBefore = (await deadLetters.list(100)).length;
    const outcome = await ingest.handle(topics.events(gw), Buffer.from(JSON.stringify({ v: 1, seq: 40, lastSeq: 42, sentAt: t0, events })));
    expect(outcome).toMatchObject({ result: 'stored', kind: 'events', inserted: 2 });
    const stored = await db.query<{ id: string }>(`SELECT id FROM events WHERE site = $1 AND id LIKE 'e-%' ORDER BY ts`, [gw.site]);
    expect(stored.map((r) => r.id)).toEqual(expect.arrayContaining(['e-good-1', 'e-good-2']));
    expect(stored.map((r) => r.id)).not.toContain('e-bad');
    const letters = await deadLetters.list(100);
    expect(letters.length - lettersBefore).toBe(1);
    expect(letters[0]?.reason).toMatch(/^1 event\(s\) refused, the rest of the batch stored: events\[1\]\.type: Invalid option: expected one of /);
    expect(await metrics.registry.metrics()).toMatch(/gh_cloud_events_rejected_total 1/);
  });

  it('gives doors and cameras their last-seen time from their events, never later than now', async () => {
    const events = [
      { id: 'ls-1', device: 'door-7', type: 'door_opened' as const, ts: t0 + 10 },
      { id: 'ls-2', device: 'door-7', type: 'door_closed' as const, ts: t0 + 5000 },
      { id: 'ls-3', device: 'cam-7', type: 'motion' as const, ts: t0 + 3000 },
    ];
    await ingest.handle(topics.events(gw), eventBatchCodec.encode({ v: 1, seq: 50, lastSeq: 52, sentAt: t0, events }));
    const seen = async () => Object.fromEntries((await registry.listDevices(gw.site)).filter((d) => d.id.endsWith('-7')).map((d) => [d.id, d.lastSeen]));
    expect(await seen()).toEqual({ 'door-7': t0 + 5000, 'cam-7': t0 + 3000 });
    // An older event replayed does not move it back; a device clock far ahead counts as now.
    const ahead = Date.now() + 86_400_000;
    await ingest.handle(topics.events(gw), eventBatchCodec.encode({ v: 1, seq: 53, lastSeq: 54, sentAt: t0, events: [{ id: 'ls-4', device: 'door-7', type: 'door_opened', ts: t0 }, { id: 'ls-5', device: 'cam-7', type: 'motion', ts: ahead }] }));
    const after = await seen();
    expect(after['door-7']).toBe(t0 + 5000);
    expect(after['cam-7']).toBeLessThanOrEqual(Date.now());
    expect(after['cam-7']).toBeGreaterThan(Date.now() - 60_000);
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
