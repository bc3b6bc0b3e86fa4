import { getEventListeners } from 'node:events';
import jpeg from 'jpeg-js';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeviceEvent } from '@gatehouse/contracts';
import {
  createGatewayMetrics,
  discoverCameras,
  OnvifCameraDriver,
  onvifCameraConfigSchema,
  OnvifSoapClient,
  OnvifFaultError,
  OnvifTransportError,
  usernameTokenHeader,
  buildEnvelope,
} from '@gatehouse/edge';
import { SimulatedCamera, type RunningCamera } from '@gatehouse/firmware-sim';
import { waitFor } from '../support/wait-for.js';

const USER = 'admin';
const PASS = 'Gatehouse-2024';
const TWO_HOURS = 2 * 3600_000;

function driverFor(port: number, events: DeviceEvent[], overrides: Record<string, unknown> = {}) {
  const metrics = createGatewayMetrics();
  const config = onvifCameraConfigSchema.parse({
    id: 'cam-lobby',
    name: 'Lobby camera',
    driver: 'onvif',
    url: `http://127.0.0.1:${port}/onvif/device_service`,
    username: USER,
    password: PASS,
    pullTimeoutS: 2,
    subscriptionTtlS: 30,
    offlineAfterMs: 1000,
    ...overrides,
  });
  const driver = new OnvifCameraDriver(config, { logger: pino({ level: 'silent' }), metrics, sink: { readings() {}, event: (e) => events.push(e) } });
  return { driver, metrics };
}

const ofType = (events: DeviceEvent[], type: string) => events.filter((e) => e.type === type);

describe('the ONVIF camera driver against the simulated camera', () => {
  let camera: SimulatedCamera;
  let running: RunningCamera;
  let driver: OnvifCameraDriver;
  let metrics: ReturnType<typeof createGatewayMetrics>;
  const events: DeviceEvent[] = [];

  beforeAll(async () => {
    camera = new SimulatedCamera({ name: 'Lobby Cam', serial: 'GH1001', username: USER, password: PASS, clockOffsetMs: TWO_HOURS, discovery: false });
    running = await camera.listen();
    ({ driver, metrics } = driverFor(running.port, events));
    driver.start();
    await waitFor('the pull-point subscription', () => camera.subscriptionCount === 1 && camera.snapshotCount >= 1);
  });
  afterAll(async () => {
    await driver?.stop();
    await running?.close();
  });

  it('reads the device information and the profiles, through a camera clock 2 h ahead', () => {
    expect(driver.deviceInformation).toEqual({ manufacturer: 'Gatehouse', model: 'GH-IPC-2100', firmware: 'V5.7.3 build 240101', serial: 'GH1001' });
    expect(driver.profiles.map((p) => [p.token, p.width, p.height])).toEqual([
      ['MainStream', 1920, 1080],
      ['SubStream', 640, 360],
    ]);
    expect(camera.authFailures).toBe(0);
  });

  it('a client that sends its own clock is refused by that camera (the check is real)', async () => {
    const body = '<tds:GetDeviceInformation/>';
    const response = await fetch(`http://127.0.0.1:${running.port}/onvif/device_service`, {
      method: 'POST',
      headers: { 'content-type': 'application/soap+xml' },
      body: buildEnvelope(body, usernameTokenHeader(USER, PASS, Date.now())),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('ter:NotAuthorized');
    const corrected = await fetch(`http://127.0.0.1:${running.port}/onvif/device_service`, {
      method: 'POST',
      headers: { 'content-type': 'application/soap+xml' },
      body: buildEnvelope(body, usernameTokenHeader(USER, PASS, Date.now() + TWO_HOURS)),
    });
    expect(corrected.status).toBe(200);
  });

  it('refuses a replayed nonce and answers malformed XML with a SOAP fault', async () => {
    const url = `http://127.0.0.1:${running.port}/onvif/device_service`;
    const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/soap+xml' }, body });
    const signed = buildEnvelope('<tds:GetDeviceInformation/>', usernameTokenHeader(USER, PASS, Date.now() + TWO_HOURS, Buffer.alloc(16, 7)));
    expect((await post(signed)).status).toBe(200);
    const replay = await post(signed);
    expect([replay.status, await replay.text()]).toEqual([400, expect.stringContaining('nonce already used')]);
    const malformed = await post('<s:Envelope><s:Body><tds:GetProfiles></s:Body>');
    expect([malformed.status, await malformed.text()]).toEqual([400, expect.stringContaining('ter:WellFormed')]);
    const hostile = await post('<!DOCTYPE x [<!ENTITY a "b">]><s:Envelope><s:Body>&a;</s:Body></s:Envelope>');
    expect(await hostile.text()).toContain('ter:WellFormed');
  });

  it('takes a snapshot: a real JPEG, in a few ms once warm', async () => {
    const first = await driver.snapshot(2000);
    const image = jpeg.decode(first.data);
    expect([first.contentType, image.width, image.height]).toEqual(['image/jpeg', 320, 240]);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const shot = await driver.snapshot(2000);
      times.push(performance.now() - t0);
      expect(shot.data.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    }
    times.sort((a, b) => a - b);
    expect(times[10]!).toBeLessThan(20);
  });

  it('delivers motion and tamper exactly: N triggers, N events', async () => {
    const before = { motion: ofType(events, 'motion').length, tamper: ofType(events, 'tamper').length };
    for (let i = 0; i < 5; i++) {
      camera.triggerMotion(true);
      camera.triggerMotion(false);
      camera.triggerTamper();
      await new Promise((r) => setTimeout(r, 30));
    }
    await waitFor('5 motion and 5 tamper events', () => ofType(events, 'motion').length - before.motion === 5 && ofType(events, 'tamper').length - before.tamper === 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(ofType(events, 'motion').length - before.motion).toBe(5);
    expect(ofType(events, 'tamper').length - before.tamper).toBe(5);
    const motion = ofType(events, 'motion').at(-1)!;
    expect(motion).toMatchObject({ device: 'cam-lobby', point: 'camera' });
    for (let i = 1; i < events.length; i++) expect(events[i]!.ts).toBeGreaterThan(events[i - 1]!.ts);
  });

  it('recovers when its subscription expires and when the camera restarts', async () => {
    camera.expireSubscriptions();
    await waitFor('a new subscription after expiry', () => camera.subscriptionCount === 1);
    const before = ofType(events, 'motion').length;
    camera.triggerMotion(true);
    camera.triggerMotion(false);
    await waitFor('motion after expiry', () => ofType(events, 'motion').length === before + 1);

    camera.restart();
    await waitFor('a new subscription after the restart', () => camera.subscriptionCount === 1);
    camera.triggerMotion(true);
    camera.triggerMotion(false);
    await waitFor('motion after the restart', () => ofType(events, 'motion').length === before + 2);
  });

  it('re-learns the clock when the camera clock is reset', async () => {
    camera.setClockOffset(-TWO_HOURS);
    camera.expireSubscriptions();
    await waitFor('a new subscription with the new clock', () => camera.subscriptionCount === 1);
    const before = ofType(events, 'tamper').length;
    camera.triggerTamper();
    await waitFor('tamper after the clock reset', () => ofType(events, 'tamper').length === before + 1);
  });

  it('reports the camera offline and back online', async () => {
    camera.setOffline(true);
    await waitFor('device_offline', () => ofType(events, 'device_offline').length === 1, 10_000);
    camera.setOffline(false);
    await waitFor('device_online', () => ofType(events, 'device_online').length === 1, 10_000);
    const before = ofType(events, 'motion').length;
    camera.triggerMotion(true);
    camera.triggerMotion(false);
    await waitFor('motion after coming back', () => ofType(events, 'motion').length === before + 1);
  });

  it('unsubscribes on stop', async () => {
    await driver.stop();
    expect(camera.subscriptionCount).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('gh_edge_device_events_total')).toContain('type="motion"');
  });
});

describe('the ONVIF camera driver with a wrong password', () => {
  let running: RunningCamera;
  let driver: OnvifCameraDriver;
  afterEach(async () => {
    await driver?.stop();
    await running?.close();
  });

  it('fails with a clear error naming the refusal, and counts it', async () => {
    const camera = new SimulatedCamera({ name: 'Gate Cam', username: USER, password: 'another', discovery: false });
    running = await camera.listen();
    const events: DeviceEvent[] = [];
    let metrics;
    ({ driver, metrics } = driverFor(running.port, events));
    driver.start();
    await waitFor('the refusal', () => driver.lastError !== undefined);
    expect(driver.lastError).toMatch(/GetDeviceInformation.*ter:NotAuthorized/);
    expect(await metrics.registry.getSingleMetricAsString('gh_edge_protocol_errors_total')).toContain('reason="not_authorized"');
    await expect(new OnvifSoapClient(`http://127.0.0.1:${running.port}/onvif/device_service`, { username: USER, password: PASS, timeoutMs: 1000 }).request({ url: `http://127.0.0.1:${running.port}/onvif/device_service`, operation: 'GetDeviceInformation', body: '<tds:GetDeviceInformation/>' })).rejects.toBeInstanceOf(OnvifFaultError);
  });
});

describe('ONVIF snapshots: size, host, and a driver that stops', () => {
  let camera: SimulatedCamera;
  let running: RunningCamera;
  let driver: OnvifCameraDriver | undefined;
  const JPEG_START = Buffer.from([0xff, 0xd8]);
  /** what became of a snapshot, in words: a failure must not print megabytes of image */
  const outcome = (taking: Promise<{ data: Buffer }>) =>
    taking.then(
      (shot) => `taken, ${shot.data.length} bytes`,
      (err: Error) => err.message,
    );

  beforeEach(async () => {
    camera = new SimulatedCamera({ name: 'Yard Cam', username: USER, password: PASS, discovery: false });
    running = await camera.listen();
  });
  afterEach(async () => {
    await driver?.stop();
    driver = undefined;
    await running?.close();
  });

  async function connected(): Promise<OnvifCameraDriver> {
    driver = driverFor(running.port, []).driver;
    driver.start();
    await waitFor('the pull-point subscription', () => camera.subscriptionCount === 1);
    return driver;
  }

  it('refuses a snapshot announced larger than the limit, and cuts its connection', async () => {
    const cam = await connected();
    await waitFor('the warm-up snapshot', () => camera.snapshotCount === 1);
    camera.setSnapshotMode({ kind: 'oversized', bytes: 20_000_000, declared: true });
    expect(await outcome(cam.snapshot(5000))).toBe('snapshot from camera cam-lobby of 20000000 bytes exceeds the limit of 1400000 bytes');
    await waitFor('the connection cut', () => camera.snapshotsCut === 1);
  });

  it('stops reading a snapshot streamed past the limit, and takes the next one as usual', async () => {
    const cam = await connected();
    await waitFor('the warm-up snapshot', () => camera.snapshotCount === 1);
    camera.setSnapshotMode({ kind: 'oversized', bytes: 20_000_000, declared: false });
    expect(await outcome(cam.snapshot(10_000))).toMatch(/^snapshot from camera cam-lobby of at least \d+ bytes exceeds the limit of 1400000 bytes$/);
    await waitFor('the connection cut', () => camera.snapshotsCut === 1);
    camera.setSnapshotMode({ kind: 'normal' });
    expect((await cam.snapshot(2000)).data.subarray(0, 2)).toEqual(JPEG_START);
  });

  it('takes a snapshot of exactly the limit', async () => {
    const cam = await connected();
    camera.setSnapshotMode({ kind: 'oversized', bytes: 1_400_000, declared: false });
    expect(await outcome(cam.snapshot(5000))).toBe('taken, 1400000 bytes');
  });

  it('refuses a snapshot URI on another host, naming both hosts, and still delivers events', async () => {
    camera.setSnapshotUri('http://203.0.113.9:8080/onvif/snapshot');
    const events: DeviceEvent[] = [];
    driver = driverFor(running.port, events).driver;
    driver.start();
    await waitFor('the pull-point subscription', () => camera.subscriptionCount === 1);
    const started = Date.now();
    await expect(driver.snapshot(3000)).rejects.toThrow("camera cam-lobby gives a snapshot URI on host 203.0.113.9, not on the camera's host 127.0.0.1: refused");
    // Refused before any connection is tried, not after waiting on the other host.
    expect(Date.now() - started).toBeLessThan(1000);
    camera.triggerMotion(true);
    await waitFor('motion', () => ofType(events, 'motion').length === 1);
  });

  it('reaches a camera that names itself by a loopback address, on the port and path it gives, with the configured credentials', async () => {
    camera.setSnapshotUri(`http://admin:not-the-password@127.0.0.5:${running.port}/onvif/snapshot?profile=SubStream`);
    const cam = await connected();
    await waitFor('the warm-up snapshot', () => camera.snapshotCount === 1);
    expect((await cam.snapshot(2000)).data.subarray(0, 2)).toEqual(JPEG_START);
  });

  it('aborts a snapshot in flight when stopped, and refuses snapshots and a restart afterwards', async () => {
    const cam = await connected();
    await waitFor('the warm-up snapshot', () => camera.snapshotCount === 1);
    camera.setSnapshotMode({ kind: 'hang' });
    const pending = outcome(cam.snapshot(30_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stoppingAt = Date.now();
    await cam.stop();
    expect(await pending).toBe('snapshot from camera cam-lobby: the driver is stopped');
    expect(Date.now() - stoppingAt).toBeLessThan(2000);
    await waitFor('the connection cut', () => camera.snapshotsCut === 1);

    camera.setSnapshotMode({ kind: 'normal' });
    const before = camera.snapshotCount;
    await expect(cam.snapshot(2000)).rejects.toThrow('snapshot from camera cam-lobby: the driver is stopped');
    expect(camera.snapshotCount).toBe(before);
    expect(() => cam.start()).toThrow('the driver is stopped and cannot be started again');
    await cam.stop();
  });
});

describe('the ONVIF SOAP client with a long-lived signal', () => {
  let camera: SimulatedCamera;
  let running: RunningCamera;
  beforeAll(async () => {
    camera = new SimulatedCamera({ name: 'Dock Cam', username: USER, password: PASS, discovery: false });
    running = await camera.listen();
  });
  afterAll(() => running?.close());

  it('holds one listener on it per request in flight, none once done, and is aborted by it at once', async () => {
    const url = `http://127.0.0.1:${running.port}/onvif/device_service`;
    const client = new OnvifSoapClient(url, { username: USER, password: PASS, timeoutMs: 2000 });
    const parent = new AbortController();
    const any = vi.spyOn(AbortSignal, 'any');
    try {
      for (let i = 0; i < 20; i++) await client.request({ url, operation: 'GetDeviceInformation', body: '<tds:GetDeviceInformation/>', signal: parent.signal });
      expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);

      const created = await client.request({ url, operation: 'CreatePullPointSubscription', body: '<tev:CreatePullPointSubscription/>', signal: parent.signal });
      const address = (created.SubscriptionReference as { Address: string }).Address;
      // The first pull answers at once with the initial state; the next one waits on the camera.
      const body = '<tev:PullMessages><tev:Timeout>PT30S</tev:Timeout><tev:MessageLimit>10</tev:MessageLimit></tev:PullMessages>';
      await client.request({ url: address, operation: 'PullMessages', body, timeoutMs: 40_000, signal: parent.signal });
      const waiting = client
        .request({ url: address, operation: 'PullMessages', body, timeoutMs: 40_000, signal: parent.signal })
        .then(
          () => 'answered',
          (err: Error) => err,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
      const abortedAt = Date.now();
      parent.abort();
      const err = await waiting;
      expect(err).toBeInstanceOf(OnvifTransportError);
      expect((err as Error).message).toMatch(/^ONVIF PullMessages to http:\/\/127\.0\.0\.1:\d+\/onvif\/event_service\/subscription\/[\w-]+: aborted$/);
      expect(Date.now() - abortedAt).toBeLessThan(500);
      expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
      expect(any.mock.calls.filter(([signals]) => [...signals].includes(parent.signal))).toEqual([]);
    } finally {
      any.mockRestore();
    }
  });

  it('names the address of a failed request without the user name and password in it', async () => {
    const client = new OnvifSoapClient(`http://127.0.0.1:${running.port}/onvif/device_service`, { username: USER, password: PASS, timeoutMs: 1000 });
    const err = await client.request({ url: `http://admin:s3cret@127.0.0.1:${running.port}/onvif/device_service`, operation: 'GetProfiles', body: '<trt:GetProfiles/>' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(OnvifTransportError);
    expect((err as Error).message).toBe(`ONVIF GetProfiles to http://127.0.0.1:${running.port}/onvif/device_service: an address carrying a user name or password is refused`);
    expect((err as Error).message).not.toContain('s3cret');
  });
});

describe('WS-Discovery', () => {
  it('finds the simulated camera with a unicast probe', async () => {
    const camera = new SimulatedCamera({ name: 'Garage Cam', model: 'GH-IPC-3200', location: 'B2', username: USER, password: PASS, discovery: { port: 0 } });
    const running = await camera.listen();
    try {
      const found = await discoverCameras({ timeoutMs: 300, address: `127.0.0.1:${running.discoveryPort}` });
      expect(found).toHaveLength(1);
      expect(found[0]!.xaddrs).toEqual([`http://127.0.0.1:${running.port}/onvif/device_service`]);
      expect(found[0]!.scopes).toEqual(expect.arrayContaining(['onvif://www.onvif.org/name/Garage%20Cam', 'onvif://www.onvif.org/hardware/GH-IPC-3200', 'onvif://www.onvif.org/location/B2']));
      expect(found[0]!.types).toContain('dn:NetworkVideoTransmitter');
    } finally {
      await running.close();
    }
  });
});
