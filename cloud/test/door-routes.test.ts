import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commandCodec, parseTopic, type CommandResult, type DeviceEvent } from '@gatehouse/contracts';
import { SiteRegistry, type SqlClient } from '@gatehouse/cloud';
import { CommandService } from '../src/commands/command-service.js';
import { EventStore } from '../src/storage/event-store.js';
import { registerDoorRoutes } from '../src/api/door-routes.js';
import { DATABASES, openTestDatabase, routeHarness } from './route-harness.js';

const SITE = 'sunrise';
const gw = { site: SITE, gateway: 'gw-01' };
const t0 = Date.UTC(2026, 10, 26, 2, 0, 0);
const jpegOf = (marker: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, marker, 0xff, 0xd9]);

type GatewayAnswer = (command: { name: string; id: string; args: Record<string, unknown> }) => Omit<CommandResult, 'v' | 'id' | 'command'> | undefined;

// The doors overview and camera pictures on demand, on PGlite, the gateway played by the publish hook
// (the whole path through a broker and a real gateway is test/e2e/camera-snapshot.test.ts).
describe.each(DATABASES)('doors, cameras and snapshots on demand (%s)', (kind) => {
  let db: SqlClient;
  let closeDb: () => Promise<void>;
  let app: FastifyInstance;
  let commands: CommandService;
  let answer: GatewayAnswer = () => undefined;
  const published: { topic: string; name: string; args: Record<string, unknown>; issuedBy: string }[] = [];

  beforeAll(async () => {
    ({ db, close: closeDb } = await openTestDatabase(kind));
    const registry = new SiteRegistry(db);
    await registry.declareSite({ id: SITE, timeZone: 'Asia/Shanghai' });
    await registry.recordGatewayState(gw, {
      status: 'online',
      devices: [
        { id: 'b1-main', kind: 'meter', driver: 'modbus+tcp', profile: 'eastron-sdm630' },
        { id: 'door-lobby', kind: 'access_panel', driver: 'osdp+tcp', name: 'Lobby door' },
        { id: 'gate-carpark', kind: 'access_panel', driver: 'isapi', name: 'Car park gate' },
        { id: 'door-store', kind: 'access_panel', driver: 'osdp+tcp' },
        { id: 'cam-lobby', kind: 'camera', driver: 'onvif', name: 'Lobby camera' },
        { id: 'cam-carpark', kind: 'camera', driver: 'onvif' },
        { id: 'cam-roof', kind: 'camera', driver: 'onvif' },
      ],
    });
    await registry.recordGatewayState({ site: SITE, gateway: 'gw-02' }, { status: 'online', devices: [{ id: 'door-west', kind: 'access_panel', driver: 'isapi' }] });
    await registry.recordGatewayState({ site: SITE, gateway: 'gw-02' }, { status: 'offline' });
    const picture = (camera: string, dt: number, marker: number) => ({ camera, contentType: 'image/jpeg' as const, ts: t0 + dt, dataBase64: jpegOf(marker).toString('base64') });
    const ev = (id: string, device: string, type: DeviceEvent['type'], dt: number, extra: Partial<DeviceEvent> = {}): DeviceEvent => ({ id, device, type, ts: t0 + dt, ...extra });
    const events = new EventStore(db);
    await events.write(gw, [
      ev('e1', 'door-lobby', 'device_offline', 0, { point: 'door' }),
      ev('e2', 'door-lobby', 'device_online', 1000, { point: 'door' }),
      ev('e3', 'door-lobby', 'door_forced_open', 2000, { point: 'door', attachments: [picture('cam-lobby', 2010, 1)] }),
      ev('e4', 'door-lobby', 'access_denied', 3000, { point: 'door', credential: '****5640' }),
      // a panel with two doors: door 1 closed, door 2 held open and watched by the car park camera
      ev('e5', 'gate-carpark', 'door_opened', 1000, { point: '1' }),
      ev('e6', 'gate-carpark', 'door_closed', 2000, { point: '1' }),
      ev('e7', 'gate-carpark', 'door_held_open', 3000, { point: '2', attachments: [picture('cam-carpark', 3010, 2), picture('cam-lobby', 3020, 3)] }),
      ev('e8', 'gate-carpark', 'device_offline', 4000, { reason: 'panel offline' }),
      ev('e9', 'cam-carpark', 'device_offline', 500, { point: 'camera' }),
    ]);
    commands = new CommandService({
      db,
      logger: pino({ level: 'silent' }),
      publish: async (topic, payload) => {
        const parsed = parseTopic(topic);
        const decoded = commandCodec.decode(payload);
        if (parsed.kind !== 'cmd' || !decoded.ok) throw new Error('not a command');
        const command = decoded.value;
        published.push({ topic, name: parsed.command, args: command.args, issuedBy: command.issuedBy });
        const result = answer({ name: parsed.command, id: command.id, args: command.args });
        // The gateway answers a moment later, as over the broker.
        if (result) setTimeout(() => void commands.recordResult({ site: parsed.site, gateway: parsed.gateway }, { v: 1, id: command.id, command: parsed.command, ...result }), 20);
      },
    });
    app = await routeHarness((api) => registerDoorRoutes(api, { db, commands, snapshotWaitMs: 1000 }));
  });

  beforeEach(() => {
    answer = () => undefined;
    published.length = 0;
  });

  afterAll(async () => {
    await app.close();
    await closeDb();
  });

  it('lists the doors with their state, the cameras seen on their events, and the cameras', async () => {
    const res = await app.inject({ url: `/api/v1/sites/${SITE}/doors` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.doors.map((d: { device: string; point: string | null }) => [d.device, d.point])).toEqual([
      ['door-lobby', 'door'],
      ['door-store', null],
      ['door-west', null],
      ['gate-carpark', '1'],
      ['gate-carpark', '2'],
    ]);
    const [lobby, store, west, gate1, gate2] = body.doors;
    expect(lobby).toMatchObject({ name: 'Lobby door', driver: 'osdp+tcp', online: true, doorState: 'open', cameras: ['cam-lobby'] });
    expect(lobby.lastEvent).toMatchObject({ id: 'e4', type: 'access_denied', credential: '****5640', gateway: 'gw-01', attachments: 0, attachmentUrls: [] });
    // never reported offline, behind an online gateway: online
    expect(store).toEqual({ device: 'door-store', point: null, name: null, driver: 'osdp+tcp', online: true, doorState: 'unknown', lastEvent: null, cameras: [] });
    // its gateway is offline: so is the door, whatever it said last
    expect(west).toMatchObject({ online: false, doorState: 'unknown' });
    expect(gate1).toMatchObject({ name: 'Car park gate', online: false, doorState: 'closed', cameras: [] });
    expect(gate1.lastEvent).toMatchObject({ id: 'e8', type: 'device_offline' });
    expect(gate2).toMatchObject({ online: false, doorState: 'open', cameras: ['cam-carpark', 'cam-lobby'] });
    expect(body.cameras).toEqual([
      { device: 'cam-carpark', name: null, online: false, lastSnapshotAt: t0 + 3010 },
      { device: 'cam-lobby', name: 'Lobby camera', online: true, lastSnapshotAt: t0 + 3020 },
      { device: 'cam-roof', name: null, online: true, lastSnapshotAt: null },
    ]);
    expect((await app.inject({ url: '/api/v1/sites/nowhere/doors' })).json()).toEqual({ code: 'GH_NOT_FOUND', message: 'no site nowhere' });
  });

  it('takes a picture on request, keeps the image (not base64) with who asked, and serves it', async () => {
    const image = jpegOf(42);
    const takenAt = Date.now();
    answer = ({ name, args }) =>
      name === 'snapshot' && args.device === 'cam-roof' ? { status: 'ok', detail: `${image.length} bytes`, data: { contentType: 'image/jpeg', ts: takenAt, dataBase64: image.toString('base64') }, ts: Date.now() } : undefined;
    const res = await app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/cameras/cam-roof/snapshot` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { url: string; takenAt: number; snapshotId: number };
    expect(body).toEqual({ url: `/api/v1/sites/${SITE}/cameras/cam-roof/snapshot?id=${body.snapshotId}`, takenAt, snapshotId: expect.any(Number) });
    expect(published).toEqual([{ topic: `gh/v1/${SITE}/gw-01/cmd/snapshot`, name: 'snapshot', args: { device: 'cam-roof' }, issuedBy: 'guard.li' }]);

    const served = await app.inject({ url: body.url });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/jpeg');
    expect(served.headers['x-taken-at']).toBe(new Date(takenAt).toISOString());
    expect(served.headers['x-snapshot-source']).toBe('request');
    expect(served.rawPayload).toEqual(image);
    const latest = await app.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-roof/snapshot` });
    expect(latest.rawPayload).toEqual(image);
    expect(latest.headers['cache-control']).toBe('no-store');

    const [row] = await db.query<{ site: string; device: string; requested_by: string; content_type: string; data: Uint8Array }>('SELECT site, device, requested_by, content_type, data FROM camera_snapshots WHERE id = $1', [body.snapshotId]);
    expect(row).toMatchObject({ site: SITE, device: 'cam-roof', requested_by: 'guard.li', content_type: 'image/jpeg' });
    expect(Buffer.from(row!.data)).toEqual(image);
    const [command] = await commands.list(SITE, 1, 'cam-roof');
    expect(command).toMatchObject({ name: 'snapshot', status: 'ok', issuedBy: 'guard.li', result: { contentType: 'image/jpeg', ts: takenAt, bytes: image.length, snapshotId: body.snapshotId } });
    expect(JSON.stringify(command)).not.toContain(image.toString('base64'));
    const overview = (await app.inject({ url: `/api/v1/sites/${SITE}/doors` })).json() as { cameras: { device: string; lastSnapshotAt: number | null }[] };
    expect(overview.cameras.find((c) => c.device === 'cam-roof')?.lastSnapshotAt).toBe(takenAt);
  });

  it('serves the newest picture of a camera: taken on request or attached to an event', async () => {
    // cam-lobby has only event pictures so far: the latest of them
    const fromEvent = await app.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-lobby/snapshot` });
    expect(fromEvent.statusCode).toBe(200);
    expect(fromEvent.rawPayload).toEqual(jpegOf(3));
    expect(fromEvent.headers).toMatchObject({ 'x-snapshot-source': 'event', 'x-camera': 'cam-lobby', 'x-taken-at': new Date(t0 + 3020).toISOString() });
    // an older picture taken on request does not hide a newer event picture, a newer one does
    for (const [dt, marker] of [[1000, 7], [9000, 8]] as const) {
      answer = () => ({ status: 'ok', data: { contentType: 'image/jpeg', ts: t0 + dt, dataBase64: jpegOf(marker).toString('base64') }, ts: Date.now() });
      expect((await app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/cameras/cam-lobby/snapshot` })).statusCode).toBe(200);
      const latest = await app.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-lobby/snapshot` });
      expect(latest.rawPayload).toEqual(dt === 1000 ? jpegOf(3) : jpegOf(8));
    }
    expect((await app.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-carpark/snapshot` })).rawPayload).toEqual(jpegOf(2));
  });

  it("answers 502 with the gateway's reason, and 504 when the gateway does not answer", async () => {
    answer = () => ({ status: 'failed', detail: 'snapshot from camera cam-roof: no image within 5000 ms', ts: Date.now() });
    const failed = await app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/cameras/cam-roof/snapshot` });
    expect(failed.statusCode).toBe(502);
    expect(failed.json()).toEqual({ code: 'GH_GATEWAY_FAILED', message: expect.stringMatching(/^no picture from camera cam-roof: failed: snapshot from camera cam-roof: no image within 5000 ms \(command [0-9a-f-]{36}\)$/) });

    answer = () => ({ status: 'rejected', detail: 'no device cam-roof on this gateway', ts: Date.now() });
    expect((await app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/cameras/cam-roof/snapshot` })).json()).toMatchObject({ code: 'GH_GATEWAY_FAILED', message: expect.stringContaining('rejected: no device cam-roof on this gateway') });

    answer = () => undefined;
    const started = Date.now();
    const silent = await app.inject({ method: 'POST', url: `/api/v1/sites/${SITE}/cameras/cam-roof/snapshot` });
    expect(silent.statusCode).toBe(504);
    expect(silent.json()).toEqual({ code: 'GH_TIMEOUT', message: expect.stringMatching(/^no picture from camera cam-roof: gateway gw-01 did not answer within 1 s \(command .+\)$/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('keeps a picture once when its result comes twice, and none when it breaks the contract', async () => {
    const count = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM camera_snapshots'))[0]!.n;
    const issued = await commands.issue({ site: SITE, gateway: 'gw-01', name: 'snapshot', device: 'cam-roof', args: { device: 'cam-roof' }, issuedBy: 'guard.li', lifetimeMs: 15_000 });
    const result: CommandResult = { v: 1, id: issued.id, command: 'snapshot', status: 'ok', data: { contentType: 'image/jpeg', ts: Date.now(), dataBase64: jpegOf(9).toString('base64') }, ts: Date.now() };
    const before = await count();
    await Promise.all([commands.recordResult(gw, result), commands.recordResult(gw, result)]);
    expect(await count()).toBe(before + 1);

    const broken = await commands.issue({ site: SITE, gateway: 'gw-01', name: 'snapshot', device: 'cam-roof', args: { device: 'cam-roof' }, issuedBy: 'guard.li', lifetimeMs: 15_000 });
    await commands.recordResult(gw, { ...result, id: broken.id, data: { contentType: 'image/gif', ts: Date.now(), dataBase64: 'R0lGOD' } });
    expect(await count()).toBe(before + 1);
    expect(await commands.get(broken.id)).toMatchObject({ status: 'failed', result: null, detail: expect.stringMatching(/^the gateway reported a picture that cannot be kept: contentType: /) });
    // a result from another gateway is not one of this command's
    const elsewhere = await commands.issue({ site: SITE, gateway: 'gw-01', name: 'snapshot', device: 'cam-roof', args: { device: 'cam-roof' }, issuedBy: 'guard.li', lifetimeMs: 15_000 });
    await commands.recordResult({ site: SITE, gateway: 'gw-02' }, { ...result, id: elsewhere.id });
    expect(await count()).toBe(before + 1);
    expect((await commands.get(elsewhere.id))?.status).toBe('sent');
  });

  it('refuses what is no camera of the site', async () => {
    const post = async (device: string, site = SITE) => {
      const res = await app.inject({ method: 'POST', url: `/api/v1/sites/${site}/cameras/${device}/snapshot` });
      return { status: res.statusCode, body: res.json() };
    };
    expect(await post('cam-nowhere')).toEqual({ status: 404, body: { code: 'GH_NOT_FOUND', message: `no device cam-nowhere at site ${SITE}` } });
    expect(await post('cam-lobby', 'nowhere')).toEqual({ status: 404, body: { code: 'GH_NOT_FOUND', message: 'no site nowhere' } });
    expect(await post('door-lobby')).toEqual({ status: 400, body: { code: 'GH_BAD_REQUEST', message: 'device door-lobby is not a camera (access_panel)' } });
    expect(published).toEqual([]);
    const none = await app.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-none/snapshot` });
    expect(none.statusCode).toBe(404);
    await db.query(`INSERT INTO devices (site, id, gateway, kind) VALUES ($1, 'cam-new', 'gw-01', 'camera')`, [SITE]);
    expect((await app.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-new/snapshot` })).json()).toEqual({ code: 'GH_NOT_FOUND', message: `camera cam-new at site ${SITE} has no picture yet` });
    expect((await app.inject({ url: `/api/v1/sites/${SITE}/cameras/cam-roof/snapshot?id=999999` })).json()).toEqual({ code: 'GH_NOT_FOUND', message: `camera cam-roof at site ${SITE} has no snapshot 999999` });
  });
});
