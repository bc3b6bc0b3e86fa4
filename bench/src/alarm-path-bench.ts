/**
 * npm run bench:alarm-path: a door forced at the simulated OSDP reader → the gateway's normalised
 * `door_forced_open` event stored in the cloud's PostgreSQL, through Mosquitto. The latency of each of
 * 1,000 events is the database's commit time minus the instant the simulated door contact opened (one
 * machine, one clock). Snapshots from linked cameras are not part of the path yet (no camera driver).
 *
 * Environment: GH_BENCH_ALARMS (1000), GH_TEST_PG_URL, GH_TEST_MQTT_URL. Ends with one line of JSON.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { startCloud } from '@gatehouse/cloud';
import { startGateway } from '@gatehouse/edge';
import { SimulatedPeripheral } from '@gatehouse/firmware-sim';
import { withDatabase } from './bench-database.js';
import { describeMachine, percentile } from './machine.js';

const ALARMS = Number(process.env.GH_BENCH_ALARMS ?? 1000);
const MQTT_URL = process.env.GH_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const SITE = `alarm-bench-${Date.now().toString(36)}`;
const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  out('Gatehouse alarm-path benchmark: door forced at an OSDP reader → event stored in the cloud');
  out(describeMachine());
  const summary = await withDatabase((url) => measure(url));
  out();
  out(JSON.stringify(summary));
}

async function measure(dbUrl: string): Promise<Record<string, unknown>> {
  const logger = pino({ level: 'warn' });

  const peripheral = new SimulatedPeripheral({ address: 1 });
  const door = await peripheral.listen();
  const cloud = await startCloud(
    { http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'postgres', connectionString: dbUrl }, mqtt: { url: MQTT_URL, clientId: `gh-cloud-${SITE}` } },
    logger,
  );
  const gateway = await startGateway(
    {
      site: SITE,
      gateway: 'gw-01',
      mqtt: { url: MQTT_URL, clientId: `gh-${SITE}-gw-01` },
      dataDir: mkdtempSync(join(tmpdir(), 'gh-alarm-')),
      http: { host: '127.0.0.1', port: 0 },
      devices: [{ id: 'door-1', driver: 'osdp+tcp', host: '127.0.0.1', port: door.port, address: 1, door: { unlockMs: 1000, heldOpenMs: 600_000, cards: [] } }],
    },
    logger,
  );
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const stored = async (type: string) =>
    Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE site = $1 AND type = $2', [SITE, type])).rows[0]?.n ?? 0);
  // Wait until the door is being polled and the path is warm.
  while (peripheral.received.length < 5) await sleep(20);

  out(`${ALARMS} forced doors, OSDP poll every 50 ms, Mosquitto at ${MQTT_URL}, PostgreSQL`);
  const latencies: number[] = [];
  for (let i = 0; i < ALARMS; i++) {
    const openedAt = Date.now();
    peripheral.setDoorOpen(true);
    while ((await stored('door_forced_open')) < i + 1) await sleep(2);
    const row = await db.query<{ at: number }>(
      `SELECT (extract(epoch from received_at) * 1000)::float8 AS at FROM events WHERE site = $1 AND type = 'door_forced_open' ORDER BY received_at DESC LIMIT 1`,
      [SITE],
    );
    latencies.push((row.rows[0]?.at ?? Date.now()) - openedAt);
    peripheral.setDoorOpen(false);
    while ((await stored('door_closed')) < i + 1) await sleep(2);
  }
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const max = latencies[latencies.length - 1] ?? Number.NaN;
  out(`  door forced → event stored: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms (${latencies.length} events)`);

  await db.end();
  await gateway.stop();
  await cloud.stop();
  await door.close();
  return { protocol: 'osdp', alarms: latencies.length, door_forced_to_stored_p50_ms: Math.round(p50 * 10) / 10, door_forced_to_stored_p99_ms: Math.round(p99 * 10) / 10, door_forced_to_stored_max_ms: Math.round(max * 10) / 10, snapshot_included: false };
}

main().catch((err: Error) => {
  process.stderr.write(`bench:alarm-path failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
