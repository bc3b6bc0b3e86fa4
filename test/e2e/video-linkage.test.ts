import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { startGateway, type RunningGateway } from '@gatehouse/edge';
import { SimulatedCamera, SimulatedPeripheral, type RunningCamera } from '@gatehouse/firmware-sim';
import { silentLogger } from '../support/site-under-test.js';
import { cloudFetch } from '../support/api-access.js';
import { waitFor } from '../support/wait-for.js';

const SITE = 'linkage-site';
const CARD = Buffer.from('12345640', 'hex');

interface ApiEvent {
  id: string;
  type: string;
  ts: number;
  attachments: number;
  attachmentUrls: string[];
}

// A forced door at an OSDP reader, watched by two ONVIF cameras: the event reaches the cloud at once,
// and with both pictures a moment later; a camera that is down costs its picture, not the event.
describe('video linkage: door alarms with the pictures of the cameras watching the door', () => {
  let cloud: RunningCloud;
  let gateway: RunningGateway;
  let peripheral: SimulatedPeripheral;
  let door: Awaited<ReturnType<SimulatedPeripheral['listen']>>;
  const cameras: SimulatedCamera[] = [];
  const running: RunningCamera[] = [];

  const api = (path: string) => cloudFetch(cloud, path);
  const events = async () => ((await (await api(`/api/v1/events?site=${SITE}&limit=100`)).json()) as { events: ApiEvent[] }).events.reverse();
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(name));
  };

  beforeAll(async () => {
    peripheral = new SimulatedPeripheral({ address: 3 });
    door = await peripheral.listen();
    for (const name of ['Lobby East', 'Lobby West']) {
      const camera = new SimulatedCamera({ name, username: 'admin', password: 'cam-pass', discovery: false, snapshotSize: { width: 640, height: 360 } });
      cameras.push(camera);
      running.push(await camera.listen());
    }
    cloud = await startCloud({ http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'pglite' }, embeddedBroker: { host: '127.0.0.1', port: 0 } }, silentLogger);
    gateway = await startGateway(
      {
        site: SITE,
        gateway: 'gw-01',
        mqtt: { url: cloud.brokerUrl!, clientId: 'gh-linkage-gw-01' },
        dataDir: mkdtempSync(join(tmpdir(), 'gh-linkage-')),
        http: { host: '127.0.0.1', port: 0 },
        devices: [
          { id: 'door-lobby', driver: 'osdp+tcp', host: '127.0.0.1', port: door.port, address: 3, replyTimeoutMs: 100, door: { unlockMs: 2000, heldOpenMs: 1500, cards: ['12345640'] } },
          ...running.map((r, i) => ({ id: `cam-${i + 1}`, driver: 'onvif' as const, url: `http://127.0.0.1:${r.port}/onvif/device_service`, username: 'admin', password: 'cam-pass', offlineAfterMs: 2000 })),
        ],
        videoLinkage: { links: [{ device: 'door-lobby', cameras: ['cam-1', 'cam-2'] }] },
      },
      silentLogger,
    );
    await waitFor('the door and both cameras online', () => peripheral.received.length > 3 && cameras.every((c) => c.subscriptionCount === 1));
  });

  afterAll(async () => {
    await gateway?.stop();
    await cloud?.stop();
    await door?.close();
    await Promise.all(running.map((r) => r.close()));
  });

  it('attaches a snapshot of each linked camera to a forced door, taken within a second, served as JPEG by the API', async () => {
    peripheral.setDoorOpen(true); // locked: forced
    const forcedAt = Date.now();
    await waitFor('the forced door with two pictures', async () => (await events()).some((e) => e.type === 'door_forced_open' && e.attachments === 2));
    const forced = (await events()).find((e) => e.type === 'door_forced_open')!;
    expect(forced.attachmentUrls).toHaveLength(2);
    const seen = new Set<string>();
    for (const url of forced.attachmentUrls) {
      const response = await api(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/jpeg');
      const takenAt = Date.parse(response.headers.get('x-taken-at')!);
      expect(takenAt - forced.ts).toBeGreaterThanOrEqual(0);
      expect(takenAt - forcedAt).toBeLessThan(1000);
      seen.add(response.headers.get('x-camera')!);
      const image = jpeg.decode(Buffer.from(await response.arrayBuffer()));
      expect([image.width, image.height]).toEqual([640, 360]);
    }
    expect([...seen].sort()).toEqual(['cam-1', 'cam-2']);
    peripheral.setDoorOpen(false);
  });

  it('attaches pictures to a door held open, and never to an ordinary opening', async () => {
    peripheral.presentCard(CARD, 32);
    await waitFor('the strike released', () => peripheral.strikeEnergised);
    peripheral.setDoorOpen(true);
    await waitFor('the held-open door with two pictures', async () => (await events()).some((e) => e.type === 'door_held_open' && e.attachments === 2), 10_000);
    peripheral.setDoorOpen(false);
    await waitFor('the door closed', async () => (await events()).filter((e) => e.type === 'door_closed').length === 2);
    const byType = new Map((await events()).map((e) => [e.type, e.attachments]));
    expect(byType.get('access_granted')).toBe(0);
    expect(byType.get('door_opened')).toBe(0);
    expect(byType.get('door_closed')).toBe(0);
  });

  it('sends the alarm without the picture of a camera that is down, and says which', async () => {
    cameras[1]!.setOffline(true);
    await waitFor('the strike locked again', () => !peripheral.strikeEnergised);
    // The gateway's own unlock window ends with the strike's timer, give or take a poll.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = (await events()).length;
    peripheral.setDoorOpen(true);
    await waitFor('the second forced door with one picture', async () => {
      const forced = (await events()).slice(before).find((e) => e.type === 'door_forced_open');
      return forced?.attachments === 1;
    });
    // The one picture is the working camera's; the failure is counted against the other.
    const forced = (await events()).slice(before).find((e) => e.type === 'door_forced_open')!;
    expect((await api(forced.attachmentUrls[0]!)).headers.get('x-camera')).toBe('cam-1');
    expect(await metric('gh_edge_snapshot_failures_total{camera="cam-2"}')).toEqual(['gh_edge_snapshot_failures_total{camera="cam-2"} 1']);
    peripheral.setDoorOpen(false);
    cameras[1]!.setOffline(false);
  });
});
