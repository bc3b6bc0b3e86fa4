import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBatchPayload, topics, type DeviceEvent } from '@gatehouse/contracts';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { Journal, JournalPublisher } from '@gatehouse/edge';
import { silentLogger } from '../support/site-under-test.js';
import { cloudFetch } from '../support/api-access.js';
import { waitFor } from '../support/wait-for.js';

// Security events take the same road as readings, on a journal and a stream of their own: written
// first, published on PUBACK, stored once with their snapshots.
describe('security events: journal → MQTT → cloud, with snapshots, exactly once', () => {
  let cloud: RunningCloud;
  const address = { site: 'events-site', gateway: 'gw-01' };

  beforeAll(async () => {
    cloud = await startCloud({ http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'pglite' }, embeddedBroker: { host: '127.0.0.1', port: 0 } }, silentLogger);
  });
  afterAll(() => cloud.stop());

  it('stores every event once, with its attachment bytes, through a reconnect and a replay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-events-'));
    const journal = Journal.open({ dir, name: 'events', fsync: 'always', fsyncIntervalMs: 1000, groupCommitMs: 2, segmentBytes: 64 * 1024, cacheBytes: 1024 * 1024, logger: silentLogger });
    const publisher = new JournalPublisher(journal, { topic: topics.events(address), maxBatchItems: 10, maxInFlight: 2, buildPayload: eventBatchPayload });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);
    const event = (i: number): DeviceEvent => ({
      id: `gw01-${i}`,
      device: 'door-3',
      type: i % 2 === 0 ? 'door_forced_open' : 'access_denied',
      ts: Date.UTC(2026, 10, 26, 8, 0, i),
      point: 'door-3',
      ...(i % 2 === 1 ? { credential: '****1234', reason: 'card not valid at this time' } : {}),
      ...(i % 2 === 0 ? { attachments: [{ camera: 'cam-lobby', contentType: 'image/jpeg' as const, ts: Date.UTC(2026, 10, 26, 8, 0, i), dataBase64: jpeg.toString('base64') }] } : {}),
    });
    // Ten events written while offline, then a connection, then ten more live.
    for (let i = 0; i < 10; i++) journal.append(Buffer.from(JSON.stringify(event(i))), 1);
    await journal.flush();
    const client = connect(cloud.brokerUrl!);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    publisher.attach(client);
    for (let i = 10; i < 20; i++) journal.append(Buffer.from(JSON.stringify(event(i))), 1);
    await journal.flush();
    await waitFor('every event acknowledged', () => journal.stats().entries === 0);

    // The same events once more (a replay after a crash): nothing changes.
    await client.publishAsync(topics.events(address), eventBatchPayload({ seq: 1, lastSeq: 5, sentAt: Date.now(), historical: true }, [0, 1, 2, 3, 4].map((i) => Buffer.from(JSON.stringify(event(i))))), { qos: 1 });

    const count = async () => (await cloud.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE site = $1', [address.site]))[0]?.n ?? 0;
    await waitFor('20 events stored', async () => (await count()) === 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await count()).toBe(20);
    const attachments = await cloud.db.query<{ event_id: string; data: Uint8Array }>('SELECT event_id, data FROM event_attachments WHERE site = $1 ORDER BY event_id', [address.site]);
    expect(attachments).toHaveLength(10);
    for (const a of attachments) expect(Buffer.from(a.data).equals(jpeg)).toBe(true);
    const api = (await (await cloudFetch(cloud, `/api/v1/events?site=${address.site}&limit=50`)).json()) as { events: { id: string; type: string; attachments: number; credential: string | null }[] };
    expect(api.events).toHaveLength(20);
    expect(api.events.find((e) => e.id === 'gw01-3')).toMatchObject({ type: 'access_denied', credential: '****1234', attachments: 0 });
    expect(api.events.find((e) => e.id === 'gw01-4')).toMatchObject({ type: 'door_forced_open', attachments: 1 });
    await client.endAsync();
    await journal.close();
  });

  it('keeps batches of events with large pictures under the message limit, so none is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-events-big-'));
    const journal = Journal.open({ dir, name: 'events', fsync: 'never', fsyncIntervalMs: 1000, groupCommitMs: 2, segmentBytes: 16 * 1024 * 1024, cacheBytes: 64 * 1024 * 1024, logger: silentLogger });
    const publisher = new JournalPublisher(journal, { topic: topics.events(address), maxBatchItems: 100, maxBatchBytes: 6 * 1024 * 1024, maxInFlight: 2, buildPayload: eventBatchPayload });
    // Twelve alarms with a 1.3 MB picture each: 100 to a batch by count would be a 21 MB message.
    const picture = Buffer.alloc(1_300_000, 0x5a).toString('base64');
    for (let i = 0; i < 12; i++) {
      const alarm: DeviceEvent = { id: `big-${i}`, device: 'door-9', type: 'door_forced_open', ts: Date.UTC(2026, 10, 26, 9, 0, i), attachments: [{ camera: 'cam-9', contentType: 'image/jpeg', ts: Date.UTC(2026, 10, 26, 9, 0, i), dataBase64: picture }] };
      journal.append(Buffer.from(JSON.stringify(alarm)), 1);
    }
    await journal.flush();
    const client = connect(cloud.brokerUrl!);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    publisher.attach(client);
    await waitFor('every big event acknowledged by the broker', () => journal.stats().entries === 0, 30_000);
    const stored = async () => (await cloud.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_attachments WHERE site = $1 AND event_id LIKE 'big-%'`, [address.site]))[0]?.n ?? 0;
    await waitFor('12 pictures stored', async () => (await stored()) === 12 || `${await stored()} stored`, 30_000);
    const deadLetters = await cloud.db.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    expect(deadLetters[0]?.n).toBe(0);
    await client.endAsync();
    await journal.close();
  });
});
