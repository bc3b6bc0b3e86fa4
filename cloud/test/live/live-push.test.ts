import { connect, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBatchCodec, topics, type DeviceEvent } from '@gatehouse/contracts';
import { startCloud, type RunningCloud, type Role } from '@gatehouse/cloud';
import { SseConnection } from '../../../test/support/sse-client.js';

// The console's live push: Server-Sent Events of new and changed alarms and of events, for the
// caller's sites, resumable after a cut with Last-Event-ID without gaps or duplicates.
describe('live push (SSE)', () => {
  let cloud: RunningCloud;
  let gateway: MqttClient;
  const tokens = new Map<string, string>();
  let seq = 1;
  let eventNo = 0;

  const publish = async (site: string, events: Omit<DeviceEvent, 'id'>[]) => {
    const batch = events.map((e) => ({ ...e, id: `ev-${++eventNo}` }));
    await gateway.publishAsync(topics.events({ site, gateway: 'gw-01' }), eventBatchCodec.encode({ v: 1, seq, lastSeq: seq + batch.length - 1, sentAt: Date.now(), historical: false, events: batch }), { qos: 1 });
    seq += batch.length;
    return batch.map((e) => e.id);
  };
  const live = (user: string, query = '') => new SseConnection(`http://127.0.0.1:${cloud.httpPort}/api/v1/live${query}`, { authorization: `Bearer ${tokens.get(user)}` });
  const eventIds = (c: SseConnection) => c.messages.filter((m) => m.event === 'event').map((m) => (JSON.parse(m.data) as { id: string }).id);

  beforeAll(async () => {
    cloud = await startCloud(
      { http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'pglite' }, embeddedBroker: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'site-a' }, { id: 'site-b' }] },
      pino({ level: 'silent' }),
    );
    const users: [string, Role[], string[]][] = [
      ['guard.a', ['guard'], ['site-a']],
      ['engineer.a', ['engineer'], ['site-a']],
    ];
    for (const [username, roles, sites] of users) {
      tokens.set(
        username,
        await cloud.db.transaction(async (tx) => {
          await cloud.auth.users.create(tx, { username, password: 'live-password-1', roles, sites });
          return (await cloud.auth.tokens.create(tx, username, { name: 'live', roles, sites, expiresAt: Date.now() + 3_600_000 })).token;
        }),
      );
    }
    gateway = connect(cloud.brokerUrl!, { clientId: 'gh-live-gw' });
    await new Promise<void>((resolve) => gateway.once('connect', () => resolve()));
  });

  afterAll(async () => {
    await gateway?.endAsync();
    await cloud?.stop();
  });

  // Last: it stops the cloud.
  const stopsWithAStreamOpen = async () => {
    const open = live('guard.a');
    await open.open();
    const began = Date.now();
    await cloud.stop();
    expect(Date.now() - began).toBeLessThan(5000);
    cloud = undefined as unknown as RunningCloud;
  };

  it('pushes events and alarms of granted sites only, and events only to those who may read them', async () => {
    const guard = live('guard.a');
    const engineer = live('engineer.a');
    await guard.open();
    await engineer.open();
    expect(guard.status).toBe(200);
    const [forced] = await publish('site-a', [{ device: 'door-1', type: 'door_forced_open', ts: Date.now() }]);
    await publish('site-b', [{ device: 'door-9', type: 'door_forced_open', ts: Date.now() }]);
    await guard.until((m) => m.some((x) => x.event === 'event') && m.some((x) => x.event === 'alarm'));
    await engineer.until((m) => m.some((x) => x.event === 'alarm'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(eventIds(guard)).toEqual([forced]);
    const alarm = JSON.parse(guard.messages.find((m) => m.event === 'alarm')!.data) as { site: string; type: string; state: string; device: string };
    expect(alarm).toMatchObject({ site: 'site-a', type: 'door_forced_open', state: 'new', device: 'door-1' });
    // The engineer sees the alarm but, without events.read, not the event; nobody here sees site-b.
    expect(engineer.messages.map((m) => m.event)).toEqual(['alarm']);
    expect(guard.messages.every((m) => !m.data.includes('site-b'))).toBe(true);
    guard.cut();
    engineer.cut();
  });

  it('catches up after a cut mid-stream with Last-Event-ID: every event once, in order', async () => {
    const first = live('guard.a');
    await first.open();
    const published: string[] = [];
    // A steady stream; the connection is cut while it flows.
    const stream = (async () => {
      for (let i = 0; i < 40; i++) {
        published.push(...(await publish('site-a', Array.from({ length: 5 }, () => ({ device: 'door-2', type: 'access_granted' as const, ts: Date.now(), credential: '****1234' })))));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await first.until((m) => m.filter((x) => x.event === 'event').length >= 40);
    first.cut();
    const cutAt = first.lastId;
    const before = eventIds(first);
    // Meanwhile the stream goes on; the console comes back with the last id it saw.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = live('guard.a');
    await second.open(cutAt);
    await stream;
    await second.until(() => before.length + eventIds(second).length >= published.length, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = eventIds(second);
    expect(before.length).toBeGreaterThanOrEqual(40);
    expect(before.length).toBeLessThan(published.length);
    expect([...before, ...after]).toEqual(published);
    // Message numbers only grow.
    const ids = [...first.messages, ...second.messages].map((m) => Number(m.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    second.cut();
  });

  it('refuses a stream without credentials or for a site not granted', async () => {
    const anonymous = new SseConnection(`http://127.0.0.1:${cloud.httpPort}/api/v1/live`, {});
    await anonymous.open();
    expect(anonymous.status).toBe(401);
    anonymous.cut();
    const other = live('guard.a', '?site=site-b');
    await other.open();
    expect(other.status).toBe(403);
    other.cut();
    const bad = live('guard.a');
    await bad.open('not-a-number');
    expect(bad.status).toBe(400);
    bad.cut();
  });

  it('ends a stream whose user lost a site meanwhile, so that the reconnect is judged afresh', async () => {
    const stream = live('guard.a');
    await stream.open();
    const ended = new Promise<void>((resolve) => stream.onEnd(resolve));
    await cloud.db.execute(`UPDATE users SET sites = '{site-b}' WHERE username = 'guard.a'`);
    await ended;
    const again = live('guard.a', '?site=site-a');
    await again.open();
    expect(again.status).toBe(403);
    again.cut();
    await cloud.db.execute(`UPDATE users SET sites = '{site-a}' WHERE username = 'guard.a'`);
  }, 30_000);

  it('lets the cloud stop while a console is connected', stopsWithAStreamOpen);
});
