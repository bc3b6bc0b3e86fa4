/**
 * npm run bench:alarm-path: a door forced at a simulated device → the gateway's normalised
 * `door_forced_open` event, with the snapshot of the camera linked to the door, stored in the cloud's
 * PostgreSQL through Mosquitto. Two paths, 1,000 alarms each:
 *   - OSDP: a reader polled every 50 ms over TCP (secure channel on);
 *   - ISAPI: a Hikvision-style panel pushing its alert stream over HTTP (Digest auth).
 * The latency of an alarm is the commit time of its picture in the database minus the instant the
 * simulated door contact opened (one machine, one clock); the event alone is committed earlier and is
 * reported too.
 *
 * Environment: GH_BENCH_ALARMS (1000 per path), GH_BENCH_PATHS (osdp,isapi), GH_TEST_PG_URL,
 * GH_TEST_MQTT_URL. Ends with one line of JSON.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { startCloud } from '@gatehouse/cloud';
import { startGateway, type GatewayConfigInput } from '@gatehouse/edge';
import { SimulatedCamera, SimulatedIsapiPanel, SimulatedPeripheral } from '@gatehouse/firmware-sim';
import { withDatabase } from './bench-database.js';
import { describeMachine, percentile } from './machine.js';

const ALARMS = Number(process.env.GH_BENCH_ALARMS ?? 1000);
const PATHS = (process.env.GH_BENCH_PATHS ?? 'osdp,isapi').split(',').map((p) => p.trim());
const MQTT_URL = process.env.GH_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number) => Math.round(n * 10) / 10;

/** One door under test: how the gateway reaches it, and how the simulator forces and closes it. */
interface DoorUnderTest {
  device: GatewayConfigInput['devices'][number];
  force(): void;
  close(): void;
  ready(): boolean;
  stop(): Promise<void>;
}

async function osdpDoor(): Promise<DoorUnderTest> {
  const peripheral = new SimulatedPeripheral({ address: 1, secureChannel: { baseKey: Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex'), required: true } });
  const listening = await peripheral.listen();
  return {
    device: { id: 'door-1', driver: 'osdp+tcp', host: '127.0.0.1', port: listening.port, address: 1, door: { unlockMs: 1000, heldOpenMs: 600_000, cards: [] }, secureChannel: { scbk: '0f0e0d0c0b0a09080706050403020100' } },
    force: () => peripheral.setDoorOpen(true),
    close: () => peripheral.setDoorOpen(false),
    ready: () => peripheral.secured && peripheral.received.length > 5,
    stop: listening.close,
  };
}

async function isapiDoor(): Promise<DoorUnderTest> {
  const panel = new SimulatedIsapiPanel({ password: 'panel-pass' });
  const listening = await panel.listen();
  return {
    device: { id: 'door-1', driver: 'isapi', url: `http://127.0.0.1:${listening.port}`, username: 'admin', password: 'panel-pass' },
    force: () => panel.forceDoor(1),
    close: () => panel.closeDoorContact(1),
    ready: () => panel.openStreams > 0,
    stop: listening.close,
  };
}

async function main(): Promise<void> {
  out('Gatehouse alarm-path benchmark: door forced at a simulated device → event with the linked camera\'s snapshot stored in the cloud');
  out(describeMachine());
  const summary: Record<string, unknown> = { alarms_per_path: ALARMS };
  for (const path of PATHS) {
    if (path !== 'osdp' && path !== 'isapi') throw new Error(`GH_BENCH_PATHS: unknown path "${path}" (osdp, isapi)`);
    const figures = await withDatabase((url) => measure(url, path));
    Object.assign(summary, figures);
  }
  out();
  out(JSON.stringify(summary));
}

async function measure(dbUrl: string, path: 'osdp' | 'isapi'): Promise<Record<string, number>> {
  const logger = pino({ level: 'warn' });
  const site = `alarm-${path}-${Date.now().toString(36)}`;
  const door = path === 'osdp' ? await osdpDoor() : await isapiDoor();
  const camera = new SimulatedCamera({ name: 'Door 1 camera', username: 'admin', password: 'cam-pass', discovery: false, snapshotSize: { width: 640, height: 360 } });
  const cameraListening = await camera.listen();
  const cloud = await startCloud(
    { http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'postgres', connectionString: dbUrl }, mqtt: { url: MQTT_URL, clientId: `gh-cloud-${site}` } },
    logger,
  );
  const gateway = await startGateway(
    {
      site,
      gateway: 'gw-01',
      mqtt: { url: MQTT_URL, clientId: `gh-${site}-gw-01` },
      dataDir: mkdtempSync(join(tmpdir(), 'gh-alarm-')),
      http: { host: '127.0.0.1', port: 0 },
      devices: [door.device, { id: 'cam-1', driver: 'onvif', url: `http://127.0.0.1:${cameraListening.port}/onvif/device_service`, username: 'admin', password: 'cam-pass' }],
      videoLinkage: { links: [{ device: 'door-1', cameras: ['cam-1'] }] },
    },
    logger,
  );
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const count = async (sql: string) => Number((await db.query<{ n: string }>(sql, [site])).rows[0]?.n ?? 0);
  const pictures = () => count(`SELECT count(*) AS n FROM event_attachments a JOIN events e ON e.site = a.site AND e.gateway = a.gateway AND e.id = a.event_id WHERE a.site = $1 AND e.type = 'door_forced_open'`);
  const closed = () => count(`SELECT count(*) AS n FROM events WHERE site = $1 AND type = 'door_closed'`);
  while (!door.ready() || camera.snapshotCount < 1) await sleep(20);

  out();
  out(`${path.toUpperCase()}: ${ALARMS} forced doors, one linked ONVIF camera (640×360 JPEG), Mosquitto at ${MQTT_URL}, PostgreSQL`);
  const withPicture: number[] = [];
  const eventOnly: number[] = [];
  for (let i = 0; i < ALARMS; i++) {
    const openedAt = Date.now();
    door.force();
    while ((await pictures()) < i + 1) await sleep(2);
    const row = await db.query<{ event: number; picture: number }>(
      `SELECT (extract(epoch from e.received_at) * 1000)::float8 AS event, (extract(epoch from a.received_at) * 1000)::float8 AS picture
         FROM events e JOIN event_attachments a ON e.site = a.site AND e.gateway = a.gateway AND e.id = a.event_id
        WHERE e.site = $1 AND e.type = 'door_forced_open' ORDER BY a.received_at DESC LIMIT 1`,
      [site],
    );
    const r = row.rows[0]!;
    withPicture.push(r.picture - openedAt);
    eventOnly.push(r.event - openedAt);
    door.close();
    while ((await closed()) < i + 1) await sleep(2);
  }
  const failures = (await (await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`)).text()).match(/^gh_edge_snapshot_failures_total\{[^}]*\} (\d+)/m)?.[1] ?? '0';
  withPicture.sort((a, b) => a - b);
  eventOnly.sort((a, b) => a - b);
  const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs[xs.length - 1] ?? Number.NaN });
  const picture = stats(withPicture);
  const event = stats(eventOnly);
  out(`  door forced → event with snapshot stored: p50 ${picture.p50.toFixed(1)} ms, p99 ${picture.p99.toFixed(1)} ms, max ${picture.max.toFixed(1)} ms (${withPicture.length} alarms)`);
  out(`  door forced → event stored (before its picture): p50 ${event.p50.toFixed(1)} ms, p99 ${event.p99.toFixed(1)} ms`);
  out(`  snapshots that failed: ${failures}; snapshots the camera served: ${camera.snapshotCount}`);

  await db.end();
  await gateway.stop();
  await cloud.stop();
  await door.stop();
  await cameraListening.close();
  return {
    [`${path}_forced_to_stored_with_snapshot_p50_ms`]: round(picture.p50),
    [`${path}_forced_to_stored_with_snapshot_p99_ms`]: round(picture.p99),
    [`${path}_forced_to_stored_with_snapshot_max_ms`]: round(picture.max),
    [`${path}_forced_to_event_stored_p50_ms`]: round(event.p50),
    [`${path}_forced_to_event_stored_p99_ms`]: round(event.p99),
    [`${path}_snapshot_failures`]: Number(failures),
  };
}

main().catch((err: Error) => {
  process.stderr.write(`bench:alarm-path failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
