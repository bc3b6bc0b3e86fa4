import jpeg from 'jpeg-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandResultCodec, snapshotResultDataSchema, type Command } from '@gatehouse/contracts';
import { SimulatedCamera, type RunningCamera } from '@gatehouse/firmware-sim';
import { executeSnapshotCommand } from '../src/commands/snapshot-command.js';
import { gatewayConfigSchema } from '../src/config.js';
import { createDrivers } from '../src/drivers/driver-registry.js';
import type { DeviceDriver } from '../src/drivers/driver.js';
import { OnvifCameraDriver } from '../src/drivers/onvif/onvif-camera-driver.js';
import { createGatewayMetrics } from '../src/status/metrics.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

// The snapshot command of the gateway against a simulated ONVIF camera over real sockets: the picture
// comes back in the result; a device that is no camera, or unknown, is refused; a camera that fails
// makes the command fail with its reason.
describe('snapshot command', () => {
  const camera = new SimulatedCamera({ name: 'Lobby', username: 'admin', password: 'cam-pass', discovery: false, snapshotSize: { width: 320, height: 180 } });
  let running: RunningCamera;
  let drivers: DeviceDriver[];
  let close: () => Promise<void>;
  let nextId = 0;

  const command = (args: Record<string, unknown>, lifetimeMs = 30_000): Command => {
    const now = Date.now();
    return { v: 1, id: `snap-${++nextId}`, issuedBy: 'guard.li', issuedAt: now, expiresAt: now + lifetimeMs, args };
  };
  const run = (cmd: Command) => executeSnapshotCommand(cmd, { device: (id) => drivers.find((d) => d.descriptor.id === id), logger });

  beforeAll(async () => {
    running = await camera.listen();
    const config = gatewayConfigSchema.parse({
      site: 'snap-site',
      gateway: 'gw-01',
      mqtt: { url: 'mqtt://127.0.0.1:1' },
      devices: [
        { id: 'cam-lobby', driver: 'onvif', url: `http://127.0.0.1:${running.port}/onvif/device_service`, username: 'admin', password: 'cam-pass', snapshotTimeoutMs: 3000 },
        // never started: only asked whether it is a camera
        { id: 'gate-carpark', driver: 'isapi', url: 'http://127.0.0.1:1', username: 'admin', password: 'x' },
      ],
    });
    ({ drivers, close } = createDrivers(config, { logger, metrics: createGatewayMetrics(), sink: { readings: () => undefined, event: () => undefined } }));
    const cam = drivers.find((d) => d.descriptor.id === 'cam-lobby') as OnvifCameraDriver;
    cam.start();
    // Connected once the warm-up snapshot was served.
    const deadline = Date.now() + 10_000;
    while (camera.snapshotCount === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  });

  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    await close();
    await running.close();
  });

  it('returns the picture the camera takes now, in the result data', async () => {
    const before = camera.snapshotCount;
    const asked = Date.now();
    const outcome = await run(command({ device: 'cam-lobby' }));
    expect(outcome).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^\d+ bytes from camera cam-lobby in \d+ ms$/) });
    expect(camera.snapshotCount).toBe(before + 1);
    const data = snapshotResultDataSchema.parse(outcome.data);
    expect(data.contentType).toBe('image/jpeg');
    expect(data.ts).toBeGreaterThanOrEqual(asked);
    expect(data.ts).toBeLessThanOrEqual(Date.now());
    const image = jpeg.decode(Buffer.from(data.dataBase64, 'base64'));
    expect([image.width, image.height]).toEqual([320, 180]);
    // It travels back as a command result like any other.
    const payload = commandResultCodec.encode({ v: 1, id: 'snap-x', command: 'snapshot', status: 'ok', data: outcome.data, ts: Date.now() });
    expect(commandResultCodec.decode(payload).ok).toBe(true);
  });

  it('refuses an unknown device, a device that is no camera and bad arguments, without asking any camera', async () => {
    const before = camera.snapshotCount;
    expect(await run(command({ device: 'cam-9' }))).toEqual({ status: 'rejected', detail: 'no device cam-9 on this gateway' });
    expect(await run(command({ device: 'gate-carpark' }))).toEqual({ status: 'rejected', detail: 'device gate-carpark is not a camera (access_panel)' });
    expect(await run(command({}))).toEqual({ status: 'rejected', detail: 'bad arguments: device: Invalid input: expected string, received undefined' });
    expect(await run(command({ device: 'cam-lobby', width: 1920 }))).toEqual({ status: 'rejected', detail: 'bad arguments: args: Unrecognized key: "width"' });
    expect(camera.snapshotCount).toBe(before);
  });

  it('fails with the reason when the camera does not answer, within the life of the command', async () => {
    camera.setSnapshotMode({ kind: 'hang' });
    try {
      const started = Date.now();
      // The command expires in 1.5 s: the picture is not waited for longer.
      const outcome = await run(command({ device: 'cam-lobby' }, 1500));
      expect(outcome).toEqual({ status: 'failed', detail: expect.stringMatching(/^snapshot from camera cam-lobby: no image within 1[45]\d\d ms$/) });
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      camera.setSnapshotMode({ kind: 'normal' });
    }
  });

  it('fails with the reason when the picture is too large to carry', async () => {
    camera.setSnapshotMode({ kind: 'oversized', bytes: 3_000_000, declared: true });
    try {
      const outcome = await run(command({ device: 'cam-lobby' }));
      expect(outcome).toEqual({ status: 'failed', detail: 'snapshot from camera cam-lobby of 3000000 bytes exceeds the limit of 1400000 bytes' });
    } finally {
      camera.setSnapshotMode({ kind: 'normal' });
    }
    // and the camera is asked again as usual afterwards
    expect((await run(command({ device: 'cam-lobby' }))).status).toBe('ok');
  });

  it('fails with the reason when the camera is offline', async () => {
    camera.setOffline(true);
    try {
      const outcome = await run(command({ device: 'cam-lobby' }, 3000));
      expect(outcome).toEqual({ status: 'failed', detail: expect.stringMatching(/^snapshot from camera cam-lobby: /) });
      expect(outcome.detail).not.toBe('snapshot from camera cam-lobby: fetch failed');
    } finally {
      camera.setOffline(false);
    }
  });
});
