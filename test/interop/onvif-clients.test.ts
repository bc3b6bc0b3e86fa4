import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import jpeg from 'jpeg-js';
import onvif from 'onvif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedCamera, type RunningCamera } from '@gatehouse/firmware-sim';
import { requireTool } from './support.js';

// The simulated camera checked by three ONVIF clients written by other people: the `onvif` npm
// package, `node-onvif`, and Debian's onvif-util (libonvif, C). A camera only these accept is one the
// gateway's own client is not alone in understanding.

const USER = 'admin';
const PASS = 'Gatehouse-2024';

interface NodeOnvifDevice {
  init(): Promise<{ Manufacturer: string; Model: string; SerialNumber: string }>;
  getCurrentProfile(): { token: string; snapshot: string; stream: { rtsp: string } };
  getProfileList(): { token: string; name: string; video: { encoder: { resolution: { width: number; height: number } } } }[];
  fetchSnapshot(): Promise<{ headers: Record<string, string>; body: Buffer }>;
}
interface NodeOnvif {
  OnvifDevice: new (options: { xaddr: string; user: string; pass: string }) => NodeOnvifDevice;
}
const nodeOnvif = createRequire(import.meta.url)('node-onvif') as NodeOnvif;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the package's callbacks are typed per method
function call<T>(fn: (cb: (err: Error | null, data?: any) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));
}

describe('the simulated camera and the onvif npm package (agsh)', () => {
  let camera: SimulatedCamera;
  let running: RunningCamera;
  let cam: onvif.Cam;

  beforeAll(async () => {
    camera = new SimulatedCamera({ name: 'Lobby Cam', serial: 'GH0001', username: USER, password: PASS, clockOffsetMs: 3 * 3600_000, discovery: false });
    running = await camera.listen();
    cam = new onvif.Cam({ hostname: '127.0.0.1', port: running.port, username: USER, password: PASS, autoconnect: false, timeout: 10_000 });
    await call((cb) => cam.connect(cb));
  });
  afterAll(() => running?.close());

  it('connects (clock offset learnt) and reads the device information', async () => {
    const info = await call<{ manufacturer: string; model: string; serialNumber: string }>((cb) => cam.getDeviceInformation(cb));
    expect(info.manufacturer).toBe('Gatehouse');
    expect(info.serialNumber).toBe('GH0001');
  });

  it('reads the two profiles with their video encoder configuration', async () => {
    const profiles = await call<{ $: { token: string }; videoEncoderConfiguration: { resolution: { width: number } } }[]>((cb) => cam.getProfiles(cb));
    expect(profiles.map((p) => p.$.token)).toEqual(['MainStream', 'SubStream']);
    expect(profiles[0]!.videoEncoderConfiguration.resolution.width).toBe(1920);
  });

  it('reads the snapshot URI', async () => {
    const uri = await call<{ uri: string }>((cb) => cam.getSnapshotUri({ profileToken: 'MainStream' }, cb));
    expect(uri.uri).toBe(`http://127.0.0.1:${running.port}/onvif/snapshot?profile=MainStream`);
  });

  it('sees a motion event through a pull-point subscription', async () => {
    await call((cb) => cam.createPullPointSubscription(cb));
    // The initial state comes first, as on real cameras.
    const initial = await call<{ notificationMessage: unknown }>((cb) => cam.pullMessages({ messageLimit: 10 }, cb));
    expect(JSON.stringify(initial)).toContain('MotionAlarm');
    setTimeout(() => camera.triggerMotion(true), 200);
    const pulled = await call<{ notificationMessage: { topic: { _: string }; message: { message: { data: { simpleItem: { $: { Name: string; Value: unknown } } } } } } }>((cb) => cam.pullMessages({ messageLimit: 10 }, cb));
    const message = Array.isArray(pulled.notificationMessage) ? pulled.notificationMessage[0] : pulled.notificationMessage;
    expect(message.topic._).toBe('tns1:VideoSource/MotionAlarm');
    expect(message.message.message.data.simpleItem.$).toEqual({ Name: 'State', Value: true });
    await call((cb) => cam.unsubscribe(cb));
    expect(camera.subscriptionCount).toBe(0);
  });

  it('is refused with a wrong password', async () => {
    const wrong = new onvif.Cam({ hostname: '127.0.0.1', port: running.port, username: USER, password: 'wrong', autoconnect: false, timeout: 10_000 });
    await expect(call((cb) => wrong.connect(cb))).rejects.toThrow(/not authori[sz]ed/i);
  });
});

describe('the simulated camera and node-onvif (futomi)', () => {
  let camera: SimulatedCamera;
  let running: RunningCamera;

  beforeAll(async () => {
    camera = new SimulatedCamera({ name: 'Gate Cam', serial: 'GH0002', username: USER, password: PASS, clockOffsetMs: -90 * 60_000, discovery: false });
    running = await camera.listen();
  });
  afterAll(() => running?.close());

  it('initialises, lists the profiles and fetches a JPEG snapshot over HTTP Digest', async () => {
    const device = new nodeOnvif.OnvifDevice({ xaddr: `http://127.0.0.1:${running.port}/onvif/device_service`, user: USER, pass: PASS });
    const info = await device.init();
    expect(info.SerialNumber).toBe('GH0002');
    expect(device.getProfileList().map((p) => p.token)).toEqual(['MainStream', 'SubStream']);
    expect(device.getCurrentProfile().snapshot).toContain('/onvif/snapshot?profile=MainStream');
    expect(device.getCurrentProfile().stream.rtsp).toBe('rtsp://127.0.0.1:554/Streaming/Channels/101');
    const snapshot = await device.fetchSnapshot();
    expect(snapshot.headers['content-type']).toBe('image/jpeg');
    const image = jpeg.decode(snapshot.body);
    expect([image.width, image.height]).toEqual([320, 240]);
    expect(camera.snapshotCount).toBe(1);
  });
});
