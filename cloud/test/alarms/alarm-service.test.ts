import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewayStateCodec, telemetryCodec, topics, type Reading } from '@gatehouse/contracts';
import {
  createCloudMetrics,
  DeadLetterStore,
  EventStore,
  IngestService,
  openTimeSeriesStore,
  readLiveFeed,
  lastLiveSeq,
  SiteRegistry,
  type SqlClient,
} from '../../src/index.js';
import { AlarmService, type Alarm } from '../../src/alarms/index.js';
import { alarmsOf, auditOf, ev, GW, openAlarmId, migratedPglite, PICTURE, silent, SITE, TestClock } from './alarm-fixtures.js';

const FORCED = 'door_forced_open:gw-01:door-1:';

describe('alarm service (PGlite)', () => {
  let db: SqlClient;
  let events: EventStore;
  let alarms: AlarmService;
  let registry: SiteRegistry;
  let ingest: IngestService;
  const clock = new TestClock(Date.now());
  let t = clock.t - 3_600_000;
  /** successive event times, a second apart */
  const next = () => (t += 1000);

  beforeAll(async () => {
    db = await migratedPglite();
    events = new EventStore(db);
    registry = new SiteRegistry(db);
    alarms = new AlarmService({ db, config: { sitePriorities: { [SITE]: { device_fault: 2 } } }, logger: silent, now: clock.now });
    alarms.attach(events);
    ingest = new IngestService({ timeSeries: await openTimeSeriesStore(db), events, registry, deadLetters: new DeadLetterStore(db), metrics: createCloudMetrics(), logger: silent });
    await registry.ensureSite(SITE);
  });

  afterAll(() => db.close());

  /** Closes every open alarm, so that each test starts with none. */
  beforeEach(async () => {
    await db.query("UPDATE alarms SET state = 'closed' WHERE state <> 'closed'");
  });

  it('counts a flapping door as one alarm with its occurrences', async () => {
    for (let i = 0; i < 5; i++) {
      await events.write(GW, [ev('door_forced_open', next())]);
      await events.write(GW, [ev('door_closed', next())]);
    }
    const [alarm, ...more] = await alarmsOf(db, FORCED);
    expect(more).toEqual([]);
    expect(alarm).toMatchObject({ state: 'new', occurrences: 5 });
    const detail = await alarms.get(alarm!.id);
    expect(detail).toMatchObject({ type: 'door_forced_open', priority: 1, site: SITE, gateway: 'gw-01', device: 'door-1', point: null, occurrences: 5, conditionEndedAt: t, escalationLevel: 0 });
    expect(detail!.firstAt).toBe(detail!.lastAt - 8000);
    expect(detail!.history.map((h) => h.action)).toEqual([
      'alarm.raise',
      'alarm.condition_end',
      ...Array.from({ length: 4 }, () => ['alarm.repeat', 'alarm.condition_end']).flat(),
    ]);
    // The door's last 20 events, newest first.
    expect(detail!.recentEvents.slice(0, 2).map((e) => e.type)).toEqual(['door_closed', 'door_forced_open']);

    // A flapping burst in one batch counts the same way.
    const burst = Array.from({ length: 50 }, (_, i) => ev(i % 2 === 0 ? 'door_held_open' : 'door_closed', next(), { device: 'door-2' }));
    await events.write(GW, burst);
    expect(await alarmsOf(db, 'door_held_open:gw-01:door-2:')).toMatchObject([{ state: 'new', occurrences: 25 }]);
  });

  it('acknowledging an alarm whose condition has ended clears it', async () => {
    await events.write(GW, [ev('door_forced_open', next()), ev('door_closed', next())]);
    const id = await openAlarmId(db, FORCED);
    const acked = await alarms.acknowledge(id, 'guard.li', '  door checked, closed by the wind  ', 'false_alarm');
    expect(acked).toMatchObject({ state: 'cleared', acknowledgedBy: 'guard.li', ackType: 'false_alarm', ackNote: 'door checked, closed by the wind', clearedBy: 'system', acknowledgedAt: clock.t, clearedAt: clock.t });
    expect((await auditOf(db, id)).slice(-2)).toEqual([
      ['alarm.acknowledge', 'new', 'acknowledged', 'guard.li'],
      ['alarm.clear', 'acknowledged', 'cleared', 'system'],
    ]);
    const closed = await alarms.close(id, 'guard.li', 'done');
    expect(closed).toMatchObject({ state: 'closed', closedBy: 'guard.li' });
    // After closing, the next forced opening raises a new alarm.
    await events.write(GW, [ev('door_forced_open', next())]);
    expect((await alarmsOf(db, FORCED)).filter((a) => a.state !== 'closed')).toMatchObject([{ state: 'new', occurrences: 1 }]);
  });

  it('clears an acknowledged alarm when the door closes, and raises it again if it is forced again', async () => {
    await events.write(GW, [ev('door_forced_open', next(), { point: '2', reason: 'no valid card' })]);
    const key = 'door_forced_open:gw-01:door-1:2';
    const id = await openAlarmId(db, key);
    expect(await alarms.acknowledge(id, 'guard.li', 'on my way', 'genuine')).toMatchObject({ state: 'acknowledged', conditionEndedAt: null });
    // a door-closed of another door changes nothing
    await events.write(GW, [ev('door_closed', next(), { point: '1' })]);
    expect((await alarms.get(id))!.state).toBe('acknowledged');
    await events.write(GW, [ev('door_closed', next(), { point: '2' })]);
    expect(await alarms.get(id)).toMatchObject({ state: 'cleared', clearedBy: 'system', conditionEndedAt: t });
    await events.write(GW, [ev('door_forced_open', next(), { point: '2' })]);
    expect(await alarms.get(id)).toMatchObject({ state: 'new', occurrences: 2, acknowledgedBy: null, clearedAt: null, conditionEndedAt: null });
    expect((await auditOf(db, id)).map((a) => a[0])).toEqual(['alarm.raise', 'alarm.acknowledge', 'alarm.clear', 'alarm.reoccur']);
  });

  it('refuses transitions not allowed from the current state, changing nothing', async () => {
    await events.write(GW, [ev('tamper', next(), { device: 'reader-9' })]);
    const id = await openAlarmId(db, 'tamper:gw-01:reader-9:');
    const snapshot = async () => ({ row: await db.query('SELECT * FROM alarms WHERE id = $1', [id]), audit: await auditOf(db, id), live: await lastLiveSeq(db) });
    const before = await snapshot();
    await expect(alarms.clear(id, 'guard.li', 'x')).rejects.toMatchObject({ code: 'GH_BAD_TRANSITION', status: 409, message: `alarm ${id} is new: acknowledge it before clearing it` });
    await expect(alarms.close(id, 'guard.li')).rejects.toMatchObject({ code: 'GH_BAD_TRANSITION' });
    await expect(alarms.acknowledge(id, 'guard.li', '   ', 'genuine')).rejects.toMatchObject({ code: 'GH_BAD_REQUEST' });
    await expect(alarms.acknowledge(id, 'guard.li', 'x'.repeat(1001), 'genuine')).rejects.toMatchObject({ code: 'GH_BAD_REQUEST' });
    await expect(alarms.acknowledge('999999', 'guard.li', 'x', 'genuine')).rejects.toMatchObject({ code: 'GH_NOT_FOUND' });
    await expect(alarms.acknowledge('1; DROP TABLE alarms', 'guard.li', 'x', 'genuine')).rejects.toMatchObject({ code: 'GH_NOT_FOUND' });
    expect(await snapshot()).toEqual(before);

    await alarms.acknowledge(id, 'guard.li', 'tamper switch checked', 'test');
    const acked = await snapshot();
    await expect(alarms.acknowledge(id, 'guard.wang', 'again', 'genuine')).rejects.toMatchObject({ code: 'GH_BAD_TRANSITION', message: expect.stringContaining('is acknowledged') });
    expect(await snapshot()).toEqual(acked);
    // No event ends a tamper: a guard clears it by hand, then closes it.
    expect(await alarms.clear(id, 'guard.li', 'cover refitted')).toMatchObject({ state: 'cleared', clearedBy: 'guard.li' });
    expect(await alarms.close(id, 'guard.li')).toMatchObject({ state: 'closed' });
    await expect(alarms.close(id, 'guard.li')).rejects.toMatchObject({ code: 'GH_BAD_TRANSITION', message: expect.stringContaining('is closed') });
  });

  it('stores notes as plain text', async () => {
    await events.write(GW, [ev('duress', next(), { device: 'panel-2' })]);
    const id = await openAlarmId(db, 'duress:gw-01:panel-2:');
    const note = "<script>alert(1)</script>'); DELETE FROM alarms; --";
    expect((await alarms.acknowledge(id, 'guard.li', note, 'genuine')).ackNote).toBe(note);
    expect((await db.query<{ note: string }>("SELECT note FROM audit_log WHERE target_id = $1 AND action = 'alarm.acknowledge'", [id]))[0]?.note).toBe(note);
  });

  it('keeps the audit log append-only', async () => {
    await expect(db.query("UPDATE audit_log SET note = 'rewritten'")).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(db.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  });

  it('pushes every change to the live feed as the API serves the alarm, pictures included when they follow', async () => {
    const from = await lastLiveSeq(db);
    const forced = ev('door_forced_open', next(), { device: 'door-7' });
    await events.write(GW, [forced]);
    const id = await openAlarmId(db, 'door_forced_open:gw-01:door-7:');
    await events.write(GW, [{ ...forced, attachments: [{ ...PICTURE, ts: forced.ts }] }]);
    await alarms.acknowledge(id, 'guard.li', 'seen on camera', 'genuine');
    const items = (await readLiveFeed(db, from, 100)).filter((i) => i.kind === 'alarm');
    const payloads = items.map((i) => i.payload as Alarm);
    expect(payloads.map((p) => [p.id, p.state, p.snapshotUrls.length])).toEqual([
      [id, 'new', 0],
      [id, 'new', 1],
      [id, 'acknowledged', 1],
    ]);
    expect(payloads[2]).toEqual(await alarms.get(id).then((a) => a && (({ history, notifications, recentEvents, ...alarm }) => alarm)(a)));
    expect(payloads[1]!.snapshotUrls[0]).toBe(`/api/v1/sites/${SITE}/events/gw-01/${forced.id}/attachments/0`);
    expect(items.every((i) => i.site === SITE)).toBe(true);
  });

  it('ends a device offline alarm when the device is back; takes the site\'s priority', async () => {
    await events.write(GW, [ev('device_offline', next(), { device: 'cam-3' }), ev('device_fault', next(), { device: 'cam-3', reason: 'lens heater failed' })]);
    const [offline] = (await alarmsOf(db, 'device_offline:cam-3')).slice(-1);
    expect(await alarms.get(offline!.id)).toMatchObject({ priority: 3, conditionEndedAt: null });
    await events.write(GW, [ev('device_online', next(), { device: 'cam-3' })]);
    expect(await alarms.get(offline!.id)).toMatchObject({ state: 'new', conditionEndedAt: t });
    const [fault] = (await alarmsOf(db, 'device_fault:gw-01:cam-3:')).slice(-1);
    expect(await alarms.get(fault!.id)).toMatchObject({ priority: 2, detail: 'lens heater failed' });
  });

  it('lists by priority then latest occurrence, filtered and paged by cursor', async () => {
    const before = await alarms.list({ sites: '*', limit: 500 });
    expect(before.alarms).toEqual([]);
    await events.write(GW, [
      ev('device_fault', next(), { device: 'd-a' }), // 2 at this site
      ev('door_forced_open', next(), { device: 'd-b' }), // 1
      ev('device_offline', next(), { device: 'd-c' }), // 3
      ev('door_forced_open', next(), { device: 'd-d' }), // 1, newer
      ev('tamper', next(), { device: 'd-e' }), // 2, newer
    ]);
    await events.write({ site: 'other', gateway: 'gw-9' }, [ev('duress', next(), { device: 'd-f' })]);
    const all = await alarms.list({ sites: '*', limit: 500 });
    expect(all.alarms.map((a) => [a.priority, a.device])).toEqual([
      [1, 'd-f'],
      [1, 'd-d'],
      [1, 'd-b'],
      [2, 'd-e'],
      [2, 'd-a'],
      [3, 'd-c'],
    ]);
    expect(all.nextCursor).toBeNull();
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await alarms.list({ sites: [SITE], limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push(page.alarms.map((a) => a.device!));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages).toEqual([['d-d', 'd-b'], ['d-e', 'd-a'], ['d-c']]);
    expect((await alarms.list({ sites: '*', priorities: [2, 3], limit: 10 })).alarms.map((a) => a.device)).toEqual(['d-e', 'd-a', 'd-c']);
    expect((await alarms.list({ sites: ['other'], limit: 10 })).alarms.map((a) => a.device)).toEqual(['d-f']);
    expect((await alarms.list({ sites: [], limit: 10 })).alarms).toEqual([]);
    const id = all.alarms[0]!.id;
    await alarms.acknowledge(id, 'guard.li', 'ok', 'test');
    await alarms.close(id, 'guard.li');
    expect((await alarms.list({ sites: '*', limit: 10 })).alarms).toHaveLength(5);
    expect((await alarms.list({ sites: '*', states: ['closed'], limit: 1000 })).alarms.map((a) => a.id)).toContain(id);
    await expect(alarms.list({ sites: '*', limit: 10, cursor: 'bm90IGEgY3Vyc29y' })).rejects.toMatchObject({ code: 'GH_BAD_REQUEST' });
  });

  describe('health checks', () => {
    const gatewayAlarm = async () => (await alarmsOf(db, 'gateway_offline:gw-h')).filter((a) => a.state !== 'closed');

    it('raises gateway_offline once for a silent gateway, however often it checks, and ends it when heard', async () => {
      const gw = { site: SITE, gateway: 'gw-h' };
      await registry.recordGatewayState(gw, { status: 'online' });
      await db.query(`UPDATE gateways SET last_seen = to_timestamp($1 / 1000.0) WHERE id = 'gw-h'`, [clock.t - 60_000]);
      expect(await alarms.checkHealth()).toEqual({ raised: 0, ended: 0 });
      clock.advance(121_000); // 181 s of silence
      expect(await alarms.checkHealth()).toEqual({ raised: 1, ended: 0 });
      const seq = await lastLiveSeq(db);
      for (let i = 0; i < 5; i++) {
        clock.advance(5000);
        expect(await alarms.checkHealth()).toEqual({ raised: 0, ended: 0 });
      }
      expect(await lastLiveSeq(db)).toBe(seq);
      const [alarm] = await gatewayAlarm();
      expect(alarm).toMatchObject({ state: 'new', occurrences: 1 });
      expect(await alarms.get(alarm!.id)).toMatchObject({ type: 'gateway_offline', priority: 2, gateway: 'gw-h', device: null, detail: expect.stringMatching(/^nothing heard from gateway gw-h since /) });

      // Heard from again: the condition ends; the guard's acknowledgement then clears it.
      await db.query(`UPDATE gateways SET last_seen = to_timestamp($1 / 1000.0) WHERE id = 'gw-h'`, [clock.t]);
      expect(await alarms.checkHealth()).toEqual({ raised: 0, ended: 1 });
      expect(await alarms.checkHealth()).toEqual({ raised: 0, ended: 0 });
      expect(await alarms.acknowledge(alarm!.id, 'guard.li', 'gateway rebooted', 'genuine')).toMatchObject({ state: 'cleared', clearedBy: 'system' });

      // Silent again: a new episode of the same alarm.
      clock.advance(200_000);
      expect(await alarms.checkHealth()).toEqual({ raised: 1, ended: 0 });
      expect(await gatewayAlarm()).toMatchObject([{ id: alarm!.id, state: 'new', occurrences: 2 }]);
      expect((await auditOf(db, alarm!.id)).map((a) => a[0])).toEqual(['alarm.raise', 'alarm.condition_end', 'alarm.acknowledge', 'alarm.clear', 'alarm.reoccur']);

      // The death message: offline says so at once, silent or not.
      await alarms.acknowledge(alarm!.id, 'guard.li', 'checking', 'genuine');
      await registry.recordGatewayState(gw, { status: 'offline' });
      await db.query(`UPDATE gateways SET last_seen = to_timestamp($1 / 1000.0) WHERE id = 'gw-h'`, [clock.t]);
      expect(await alarms.checkHealth()).toEqual({ raised: 0, ended: 0 });
      await registry.recordGatewayState(gw, { status: 'online' });
      await db.query(`UPDATE gateways SET last_seen = to_timestamp($1 / 1000.0) WHERE id = 'gw-h'`, [clock.t]);
      expect(await alarms.checkHealth()).toEqual({ raised: 0, ended: 1 });
      expect(await alarms.get(alarm!.id)).toMatchObject({ state: 'cleared', clearedBy: 'system' });
      await registry.recordGatewayState(gw, { status: 'offline' });
      expect(await alarms.checkHealth()).toEqual({ raised: 1, ended: 0 });
      expect(await alarms.get(alarm!.id)).toMatchObject({ state: 'new', occurrences: 3, detail: expect.stringMatching(/went offline \(death message\)/) });
      await db.query("DELETE FROM gateways WHERE id = 'gw-h'");
    });

    it('raises meter_comm_error when a meter answers only communication errors for commErrorMinutes, and ends it when it answers', async () => {
      const meter = 'b1-main';
      const reading = (ts: number, quality: Reading['quality']): Reading => ({ device: meter, metric: 'active_power', unit: 'W', ts, value: quality === 'good' ? 1 : null, quality });
      const send = (seq: number, readings: Reading[], historical = false) => ingest.handle(topics.telemetry(GW), telemetryCodec.encode({ v: 1, seq, lastSeq: seq, sentAt: Date.now(), historical, readings }));
      const since = async () => (await db.query<{ s: number | null }>(`SELECT (extract(epoch from comm_error_since) * 1000)::float8 AS s FROM devices WHERE id = $1`, [meter]))[0]?.s;
      const base = Date.now() - 30 * 60_000;
      await send(1, [reading(base, 'good'), reading(base + 60_000, 'comm_error'), reading(base + 120_000, 'comm_error')]);
      expect(await since()).toBe(base + 60_000);
      await send(2, [reading(base + 180_000, 'comm_error')]);
      expect(await since()).toBe(base + 60_000);
      // an old answer replayed says nothing of now
      await send(3, [reading(base - 60_000, 'good')], true);
      expect(await since()).toBe(base + 60_000);

      clock.t = base + 60_000 + 9 * 60_000;
      expect((await alarms.checkHealth()).raised).toBe(0);
      clock.t = base + 60_000 + 11 * 60_000;
      expect((await alarms.checkHealth()).raised).toBe(1);
      expect((await alarms.checkHealth()).raised).toBe(0);
      const [alarm] = (await alarmsOf(db, `meter_comm_error:${meter}`)).filter((a) => a.state !== 'closed');
      expect(await alarms.get(alarm!.id)).toMatchObject({ type: 'meter_comm_error', priority: 3, gateway: 'gw-01', device: meter, firstAt: base + 60_000, state: 'new' });

      await send(4, [reading(base + 240_000, 'good')]);
      expect(await since()).toBeNull();
      expect(await alarms.checkHealth()).toMatchObject({ ended: 1 });
      expect(await alarms.get(alarm!.id)).toMatchObject({ conditionEndedAt: clock.t });
    });

    it('raises backlog_stale while a gateway\'s journal holds old entries, and ends it when drained', async () => {
      const stream = (oldestPendingTs: number | null) => ({ nextSeq: 10, ackedThrough: 5, backlogEntries: oldestPendingTs ? 4 : 0, backlogItems: 40, oldestPendingTs, drainPerSecond: 0, bytes: 100 });
      const state = (oldest: number | null) =>
        gatewayStateCodec.encode({ v: 1, status: 'online', ts: Date.now(), streams: { telemetry: stream(oldest), events: stream(null) } });
      clock.t = Date.now();
      await ingest.handle(topics.state({ site: SITE, gateway: 'gw-b' }), state(clock.t - 16 * 60_000));
      expect((await alarms.checkHealth()).raised).toBe(1);
      const [alarm] = (await alarmsOf(db, 'backlog_stale:gw-b')).filter((a) => a.state !== 'closed');
      expect(await alarms.get(alarm!.id)).toMatchObject({ type: 'backlog_stale', priority: 3, detail: expect.stringContaining('telemetry 4, events 0 waiting') });
      await alarms.acknowledge(alarm!.id, 'eng.zhao', 'uplink down, ISP called', 'genuine');
      await ingest.handle(topics.state({ site: SITE, gateway: 'gw-b' }), state(null));
      expect((await alarms.checkHealth()).ended).toBe(1);
      expect(await alarms.get(alarm!.id)).toMatchObject({ state: 'cleared', clearedBy: 'system' });
    });
  });
});
