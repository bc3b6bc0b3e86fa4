import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import jpeg from 'jpeg-js';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { commandResultCodec, type CommandResult } from '@gatehouse/contracts';
import { startGateway, type RunningGateway } from '@gatehouse/edge';
import { SimulatedCamera, SimulatedPeripheral, type RunningCamera } from '@gatehouse/firmware-sim';
import { registerDoorRoutes } from '../../cloud/src/api/door-routes.js';
import { CommandService } from '../../cloud/src/commands/command-service.js';
import { routeHarness } from '../../cloud/test/route-harness.js';
import { silentLogger } from '../support/site-under-test.js';
import { waitFor } from '../support/wait-for.js';

const SITE = 'snap-site';
const COMMAND_TOPIC = `gh/v1/${SITE}/gw-01/cmd/snapshot`;

// A guard asks a camera for a picture now: cloud → broker → gateway → ONVIF camera (real sockets), and the
// picture back through the command result into the cloud's camera_snapshots, served by the API.
describe('camera snapshot on demand', () => {
  let cloud: RunningCloud;
  let gateway: RunningGateway;
  let api: FastifyInstance;
  let commandClient: MqttClient;
  let observer: MqttClient;
  let commands: CommandService;
  const camera = new SimulatedCamera({ name: 'Lobby', username: 'admin', password: 'cam-pass', discovery: false, snapshotSize: { width: 480, height: 270 } });
  let cameraServer: RunningCamera;
  const peripheral = new SimulatedPeripheral({ address: 1 });
  let door: Awaited<ReturnType<SimulatedPeripheral['listen']>>;
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-snap-'));
  const seenCommands: Buffer[] = [];
  const results: CommandResult[] = [];

  const post = async (device: string) => {
    const res = await api.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/cameras/${device}/snapshot` });
    return { status: res.statusCode, body: res.json() as { url: string; takenAt: number; snapshotId: number; code?: string; message?: string } };
  };

  beforeAll(async () => {
    cameraServer = await camera.listen();
    door = await peripheral.listen();
    cloud = await startCloud({ http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'pglite' }, embeddedBroker: { host: '127.0.0.1', port: 0 } }, silentLogger, { onFirstAdmin: () => undefined });
    gateway = await startGateway(
      {
        site: SITE,
        gateway: 'gw-01',
        mqtt: { url: cloud.brokerUrl!, clientId: 'gh-snap-gw-01' },
        dataDir,
        http: { host: '127.0.0.1', port: 0 },
        devices: [
          { id: 'cam-lobby', driver: 'onvif', url: `http://127.0.0.1:${cameraServer.port}/onvif/device_service`, username: 'admin', password: 'cam-pass' },
          { id: 'door-east', driver: 'osdp+tcp', host: '127.0.0.1', port: door.port, address: 1, replyTimeoutMs: 100 },
        ],
      },
      silentLogger,
    );
    // The routes on an API of their own, asking through a command service of their own: the cloud's
    // ingest records the gateway's answer in the database, where this one finds it.
    commandClient = await connectAsync(cloud.brokerUrl!, { clientId: 'gh-snap-commands' });
    commands = new CommandService({ db: cloud.db, logger: silentLogger, publish: async (topic, payload) => void (await commandClient.publishAsync(topic, payload, { qos: 1 })) });
    api = await routeHarness((a) => registerDoorRoutes(a, { db: cloud.db, commands }));
    observer = await connectAsync(cloud.brokerUrl!, { clientId: 'gh-snap-observer' });
    await observer.subscribeAsync([COMMAND_TOPIC, `gh/v1/${SITE}/gw-01/cmd-result`], { qos: 1 });
    observer.on('message', (topic, payload) => {
      if (topic === COMMAND_TOPIC) seenCommands.push(Buffer.from(payload));
      else {
        const decoded = commandResultCodec.decode(payload);
        if (decoded.ok) results.push(decoded.value);
      }
    });
    await waitFor('the camera connected and the gateway known to the cloud', async () => {
      const devices = await cloud.db.query<{ id: string }>('SELECT id FROM devices WHERE site = $1', [SITE]);
      return camera.snapshotCount > 0 && devices.length === 2;
    });
    // The gateway subscribes to its commands a moment after it connects: until it answers a rebirth.
    await waitFor('the gateway taking commands', async () => {
      const probe = await commands.issue({ site: SITE, gateway: 'gw-01', name: 'rebirth', args: {}, issuedBy: 'test', lifetimeMs: 2000 });
      return (await commands.waitForResult(probe.id, 1000))?.status === 'ok';
    });
  });

  afterAll(async () => {
    await api?.close();
    await observer?.endAsync();
    await commandClient?.endAsync();
    await gateway?.stop();
    await cloud?.stop();
    await cameraServer?.close();
    await door?.close();
  });

  it('takes a picture now and serves it, keeping the image and who asked for it', async () => {
    const before = camera.snapshotCount;
    const asked = Date.now();
    const { status, body } = await post('cam-lobby');
    expect(status).toBe(200);
    expect(camera.snapshotCount).toBe(before + 1);
    expect(body.url).toBe(`/api/v1/sites/${SITE}/cameras/cam-lobby/snapshot?id=${body.snapshotId}`);
    expect(body.takenAt).toBeGreaterThanOrEqual(asked);
    expect(body.takenAt - asked).toBeLessThan(2000);

    const served = await api.inject({ url: body.url });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/jpeg');
    expect(served.headers['x-taken-at']).toBe(new Date(body.takenAt).toISOString());
    const image = jpeg.decode(served.rawPayload);
    expect([image.width, image.height]).toEqual([480, 270]);
    expect((await api.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-lobby/snapshot` })).rawPayload).toEqual(served.rawPayload);

    const [row] = await cloud.db.query<{ requested_by: string; bytes: number }>('SELECT requested_by, length(data) AS bytes FROM camera_snapshots WHERE id = $1', [body.snapshotId]);
    expect(row).toEqual({ requested_by: 'guard.li', bytes: served.rawPayload.length });
    const [command] = await commands.list(SITE, 1, 'cam-lobby');
    expect(command).toMatchObject({ name: 'snapshot', status: 'ok', issuedBy: 'guard.li', result: { contentType: 'image/jpeg', ts: body.takenAt, bytes: served.rawPayload.length, snapshotId: body.snapshotId } });
    expect(Object.keys(command!.result!).sort()).toEqual(['bytes', 'contentType', 'snapshotId', 'ts']);

    // The gateway's audit file has the command and its outcome, not the picture.
    const audit = readFileSync(join(dataDir, 'command-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.find((l) => l.id === command!.id)).toMatchObject({ command: 'snapshot', issuedBy: 'guard.li', args: { device: 'cam-lobby' }, status: 'ok' });
    expect(readFileSync(join(dataDir, 'command-audit.jsonl'), 'utf8').length).toBeLessThan(10_000);
  });

  it('refuses a replayed snapshot command at the gateway: the camera is not asked again, nothing more is stored', async () => {
    const original = seenCommands.at(-1)!;
    const id = (JSON.parse(original.toString('utf8')) as { id: string }).id;
    const pictures = camera.snapshotCount;
    const stored = (await cloud.db.query<{ n: number }>('SELECT count(*)::int AS n FROM camera_snapshots'))[0]!.n;
    await observer.publishAsync(COMMAND_TOPIC, original, { qos: 1 });
    await waitFor('the duplicate result', () => results.some((r) => r.id === id && r.status === 'duplicate'));
    expect(camera.snapshotCount).toBe(pictures);
    expect((await cloud.db.query<{ n: number }>('SELECT count(*)::int AS n FROM camera_snapshots'))[0]!.n).toBe(stored);
    expect((await commands.get(id))?.status).toBe('ok');
  });

  it("answers 502 with the camera's reason when it cannot take the picture, and refuses what is no camera", async () => {
    camera.setOffline(true);
    try {
      const failed = await post('cam-lobby');
      expect(failed.status).toBe(502);
      expect(failed.body).toMatchObject({ code: 'GH_GATEWAY_FAILED', message: expect.stringMatching(/^no picture from camera cam-lobby: failed: snapshot from camera cam-lobby: /) });
    } finally {
      camera.setOffline(false);
    }
    expect(await post('door-east')).toMatchObject({ status: 400, body: { message: 'device door-east is not a camera (access_panel)' } });
    expect(await post('cam-gone')).toMatchObject({ status: 404, body: { message: `no device cam-gone at site ${SITE}` } });
    // The gateway itself refuses a device it does not have, or one that is no camera.
    for (const [device, detail] of [
      ['cam-gone', 'no device cam-gone on this gateway'],
      ['door-east', 'device door-east is not a camera (access_panel)'],
    ]) {
      const issued = await commands.issue({ site: SITE, gateway: 'gw-01', name: 'snapshot', device, args: { device }, issuedBy: 'guard.li', lifetimeMs: 10_000 });
      expect(await commands.waitForResult(issued.id, 5000)).toMatchObject({ status: 'rejected', detail, result: null });
    }
    // and the camera answers again once it is back
    await waitFor('a picture after the camera came back', async () => (await post('cam-lobby')).status === 200);
  });
});
