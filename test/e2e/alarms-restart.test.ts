import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBatchCodec, topics, type DeviceEvent } from '@gatehouse/contracts';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { cloudFetch } from '../support/api-access.js';
import { createTestDatabase, REAL_MQTT_URL, requireBroker, cleanBroker, uniqueName } from '../support/real-services.js';
import { silentLogger } from '../support/site-under-test.js';
import { waitFor } from '../support/wait-for.js';

interface ApiAlarm {
  id: string;
  state: string;
  occurrences: number;
  acknowledgedBy: string | null;
}

// Alarms live in the database: a cloud that restarts (or crashes) finds them as they were, and goes on
// counting on the same alarm.
describe('alarms across a cloud restart (PostgreSQL, Mosquitto)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let cloud: RunningCloud | undefined;
  let gateway: MqttClient;
  const site = uniqueName('restart');
  const clientId = `gh-cloud-${site}`;
  let seq = 1;
  let n = 0;

  const start = () =>
    startCloud({ http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'postgres', connectionString: db.url }, mqtt: { url: REAL_MQTT_URL, clientId } }, silentLogger);
  const publish = async (events: Omit<DeviceEvent, 'id'>[]) => {
    const batch = events.map((e) => ({ ...e, id: `e-${++n}` }));
    await gateway.publishAsync(topics.events({ site, gateway: 'gw-01' }), eventBatchCodec.encode({ v: 1, seq, lastSeq: seq + batch.length - 1, sentAt: Date.now(), historical: false, events: batch }), { qos: 1 });
    seq += batch.length;
  };
  const alarms = async () => ((await (await cloudFetch(cloud!, `/api/v1/alarms?site=${site}&state=open`)).json()) as { alarms: ApiAlarm[] }).alarms;

  beforeAll(async () => {
    await requireBroker();
    db = await createTestDatabase('gh_alarm_restart');
    cloud = await start();
    gateway = connect(REAL_MQTT_URL, { clientId: `gh-${site}-gw-01` });
    await new Promise<void>((resolve) => gateway.once('connect', () => resolve()));
  });

  afterAll(async () => {
    await gateway?.endAsync();
    await cloud?.stop();
    await cleanBroker(REAL_MQTT_URL, [], [clientId, `${clientId}-replay`]);
    await db?.drop();
  });

  it('keeps alarms, their state and their count through a restart, and events published meanwhile count on them', async () => {
    await publish([{ device: 'door-1', type: 'door_forced_open', ts: Date.now() }]);
    await waitFor('the alarm', async () => (await alarms()).length === 1);
    const [alarm] = await alarms();
    const acked = await cloudFetch(cloud!, `/api/v1/alarms/${alarm!.id}/acknowledge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note: 'on my way', ackType: 'genuine' }) }, { username: 'guard.li', roles: ['guard'] });
    expect(acked.status).toBe(200);

    await cloud!.stop();
    cloud = undefined;
    // While the cloud is down, the door is forced twice more; the broker keeps the messages for its session.
    await publish([{ device: 'door-1', type: 'door_forced_open', ts: Date.now() }]);
    await publish([{ device: 'door-1', type: 'door_forced_open', ts: Date.now() }]);
    cloud = await start();
    await waitFor('the two occurrences counted', async () => (await alarms())[0]?.occurrences === 3);
    expect(await alarms()).toEqual([expect.objectContaining({ id: alarm!.id, state: 'acknowledged', occurrences: 3, acknowledgedBy: 'guard.li' })]);
    const events = (await (await cloudFetch(cloud, `/api/v1/events?site=${site}`)).json()) as { events: unknown[] };
    expect(events.events).toHaveLength(3);
  });
});
