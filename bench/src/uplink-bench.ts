/**
 * npm run bench:uplink: a gateway comes back after a 24 h outage of 200 meters polled every 15 s
 * (1,152,000 readings in its journal) and drains them into PostgreSQL through Mosquitto and the cloud,
 * while 20 live meters keep being polled every second. Then the steady state: gateway CPU and journal
 * write amplification. Ends with one line of JSON.
 *
 * Environment: GH_BENCH_BACKLOG_METERS (200), GH_BENCH_BACKLOG_HOURS (24), GH_TEST_PG_URL.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { serializeReadings, type Reading } from '@gatehouse/contracts';
import { Journal } from '@gatehouse/edge';
import { findFreePort } from '@gatehouse/firmware-sim';
import { describeMachine, percentile, processCpuSeconds } from './machine.js';
import { sumMetric } from './prometheus.js';
import { sleep, startGatehouse, waitForPort } from './processes.js';
import { spawn } from 'node:child_process';

const BACKLOG_METERS = Number(process.env.GH_BENCH_BACKLOG_METERS ?? 200);
const BACKLOG_HOURS = Number(process.env.GH_BENCH_BACKLOG_HOURS ?? 24);
const LIVE_METERS = 20;
const out = (line = '') => process.stdout.write(`${line}\n`);

/** The journal a gateway would hold after the outage: one entry per poll, one energy reading each. */
async function writeBacklog(dataDir: string): Promise<number> {
  const journal = Journal.open({
    dir: join(dataDir, 'journal', 'telemetry'),
    name: 'telemetry',
    fsync: 'never',
    fsyncIntervalMs: 1000,
    groupCommitMs: 50,
    segmentBytes: 8 * 1024 * 1024,
    cacheBytes: 0,
    logger: pino({ level: 'silent' }),
  });
  const polls = (BACKLOG_HOURS * 3600) / 15;
  const start = Date.now() - BACKLOG_HOURS * 3_600_000;
  let readings = 0;
  for (let p = 0; p < polls; p++) {
    for (let m = 0; m < BACKLOG_METERS; m++) {
      const ts = start + p * 15_000 + m * 50;
      const reading: Reading = { device: `backlog-${m}`, metric: 'import_energy', unit: 'kWh', ts, value: 10_000 + m + p * 0.25, quality: 'good' };
      journal.append(Buffer.from(serializeReadings([reading])), 1, ts);
      readings++;
    }
    if (p % 200 === 0) await journal.flush();
  }
  await journal.close();
  return readings;
}

async function main() {
  out(describeMachine());
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-uplink-'));
  chmodSync(dir, 0o755);
  const edgeData = join(dir, 'edge');
  const t0 = Date.now();
  const backlog = await writeBacklog(edgeData);
  out(`journal written: ${backlog} readings in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const pgAdmin = process.env.GH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `gh_bench_uplink_${process.pid}`;
  const admin = new pg.Client({ connectionString: pgAdmin });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(pgAdmin);
  dbUrl.pathname = `/${dbName}`;
  const db = new pg.Client({ connectionString: dbUrl.toString() });

  const brokerPort = await findFreePort();
  writeFileSync(join(dir, 'mosquitto.conf'), [`listener ${brokerPort} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', 'max_queued_bytes 0', 'log_dest none', ''].join('\n'));
  const mosquitto = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  await waitForPort(brokerPort);

  const modbusPort = await findFreePort();
  writeFileSync(join(dir, 'sim.yaml'), stringify({ modbusTcp: [{ port: modbusPort, meters: Array.from({ length: LIVE_METERS }, (_, i) => ({ id: `live-${i}`, unitId: i + 1, model: 'eastron-sdm630', shape: 'office', ratedKw: 80, initialImportKwh: 500 })) }] }));
  writeFileSync(
    join(dir, 'cloud.yaml'),
    stringify({ http: { host: '127.0.0.1', port: 0 }, mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, clientId: 'gh-bench-cloud' }, storage: { kind: 'postgres', connectionString: dbUrl.toString() } }),
  );
  const gatewayHttp = await findFreePort();
  writeFileSync(
    join(dir, 'edge.yaml'),
    stringify({
      site: 'bench',
      gateway: 'gw-01',
      dataDir: edgeData,
      mqtt: { url: `mqtt://127.0.0.1:${brokerPort}` },
      uplink: { maxBatchReadings: 5000, maxInFlightBatches: 16 },
      http: { host: '127.0.0.1', port: gatewayHttp },
      devices: Array.from({ length: LIVE_METERS }, (_, i) => ({ id: `live-${i}`, driver: 'modbus+tcp', host: '127.0.0.1', port: modbusPort, unitId: i + 1, profile: 'eastron-sdm630', intervalMs: 1000 })),
    }),
  );

  const sim = startGatehouse(['sim', '--config', join(dir, 'sim.yaml')]);
  const cloud = startGatehouse(['cloud', '--config', join(dir, 'cloud.yaml')]);
  await waitForPort(modbusPort);
  await sleep(3000);
  await db.connect();

  const started = Date.now();
  const gateway = startGatehouse(['edge', '--config', join(dir, 'edge.yaml')]);
  const health = async () => (await (await fetch(`http://127.0.0.1:${gatewayHttp}/health`)).json()) as { connected: boolean; streams: { telemetry: { backlogItems: number } } };
  const storedBacklog = async () => Number((await db.query("SELECT count(*) AS n FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device LIKE 'backlog-%'")).rows[0]?.n ?? 0);
  // Live latency into PostgreSQL during the drain: every 200 ms, the newest stored reading of each live
  // meter; each new one is sampled as (now - its poll time), an upper bound within 200 ms.
  const liveLatency: number[] = [];
  const newestSeen = new Map<string, number>();
  let gatewayDrainedAt = 0;
  let lastBacklogCheck = 0;
  for (;;) {
    await sleep(200);
    const now = Date.now();
    const newest = await db.query<{ device: string; t: number }>(
      "SELECT s.device, (extract(epoch from max(r.ts)) * 1000)::float8 AS t FROM readings r JOIN series s ON s.id = r.series_id WHERE s.device LIKE 'live-%' AND s.metric = 'active_power' GROUP BY s.device",
    );
    for (const row of newest.rows) {
      if (row.t > (newestSeen.get(row.device) ?? 0)) {
        if (newestSeen.has(row.device)) liveLatency.push(now - row.t);
        newestSeen.set(row.device, row.t);
      }
    }
    if (now - lastBacklogCheck < 1000) continue;
    lastBacklogCheck = now;
    const h = await health().catch(() => undefined);
    if (!gatewayDrainedAt && h?.connected && h.streams.telemetry.backlogItems === 0) gatewayDrainedAt = Date.now();
    const stored = await storedBacklog();
    if (stored >= backlog) break;
    if (Date.now() - started > 600_000) throw new Error(`only ${stored} of ${backlog} backlog readings stored after 10 minutes`);
  }
  const drainSeconds = (Date.now() - started) / 1000;

  // Steady state: live polling only.
  const metrics = async () => (await fetch(`http://127.0.0.1:${gatewayHttp}/metrics`)).text();
  const before = { cpu: processCpuSeconds(gateway.pid), text: await metrics(), at: Date.now() };
  await sleep(20_000);
  const after = { cpu: processCpuSeconds(gateway.pid), text: await metrics(), at: Date.now() };
  const elapsed = (after.at - before.at) / 1000;
  const delta = (name: string) => sumMetric(after.text, name, { stream: 'telemetry' }) - sumMetric(before.text, name, { stream: 'telemetry' });
  const amplification = delta('gh_edge_journal_written_bytes_total') / delta('gh_edge_journal_payload_bytes_total');
  const steadyCpu = ((after.cpu - before.cpu) / elapsed) * 100;

  await gateway.stop();
  await sim.stop();
  await cloud.stop();
  mosquitto.kill('SIGTERM');
  await db.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();

  const sorted = liveLatency.sort((a, b) => a - b);
  out();
  out(`Backlog: ${backlog} readings (${BACKLOG_METERS} meters × ${BACKLOG_HOURS} h at 15 s), ${LIVE_METERS} live SDM630 meters polled every second`);
  out(`  drained into PostgreSQL in  ${drainSeconds.toFixed(1)} s (target < 60 s); gateway backlog empty after ${((gatewayDrainedAt - started) / 1000).toFixed(1)} s`);
  out(`  live latency into Postgres  p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted[sorted.length - 1]} ms over ${sorted.length} samples during the drain (target < 5 s)`);
  out(`Steady state (${LIVE_METERS} meters at 1 s, ${elapsed.toFixed(0)} s): gateway CPU ${steadyCpu.toFixed(1)} % of one core; journal writes ${amplification.toFixed(3)} bytes per byte of payload`);
  out(
    JSON.stringify({
      backlog_readings: backlog,
      drain_seconds: Number(drainSeconds.toFixed(1)),
      live_latency_into_postgres_p50_ms: percentile(sorted, 50),
      live_latency_into_postgres_p99_ms: percentile(sorted, 99),
      live_latency_into_postgres_max_ms: sorted[sorted.length - 1] ?? null,
      steady_gateway_cpu_percent: Number(steadyCpu.toFixed(1)),
      journal_write_amplification: Number(amplification.toFixed(3)),
    }),
  );
}

main().catch((err: Error) => {
  process.stderr.write(`bench:uplink failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
