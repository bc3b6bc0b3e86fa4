/**
 * npm run bench:modbus: how few requests the poller needs, and whether one gateway process serves
 * 1,000 SDM630 meters every second within half a core and 150 MB.
 *
 * Environment: GH_BENCH_METERS (1000), GH_BENCH_SECONDS (30), GH_BENCH_MQTT_URL (mqtt://127.0.0.1:1883,
 * falling back to an embedded broker when nothing answers there).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { startEmbeddedBroker, type EmbeddedBroker } from '@gatehouse/cloud';
import { BUILT_IN_PROFILE_DIR, loadProfiles, planReads } from '@gatehouse/edge';
import { describeMachine, percentile, processCpuSeconds, processRssMiB } from './machine.js';
import { sumMetric } from './prometheus.js';
import { sleep, startGatehouse, waitForPort } from './processes.js';

const METERS = Number(process.env.GH_BENCH_METERS ?? 1000);
const SECONDS = Number(process.env.GH_BENCH_SECONDS ?? 30);
const WARMUP_SECONDS = 10;
const METERS_PER_ENDPOINT = 25;
const DEFAULT_MAX_GAP = 16;

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function requestPlanning() {
  out('Requests per poll cycle, per profile:');
  out('  profile              points  one-per-point  minimum possible  gatehouse');
  const rows: Record<string, { points: number; minimum: number; gatehouse: number }> = {};
  for (const profile of [...loadProfiles([BUILT_IN_PROFILE_DIR]).values()].sort((a, b) => a.id.localeCompare(b.id))) {
    // With unlimited gap bridging, greedy packing under the 125-register limit is the fewest reads possible.
    const minimum = planReads(profile.points, { maxGap: 124 }).length;
    const gatehouse = planReads(profile.points, { maxGap: profile.maxGap ?? DEFAULT_MAX_GAP }).length;
    rows[profile.id] = { points: profile.points.length, minimum, gatehouse };
    out(`  ${profile.id.padEnd(20)} ${String(profile.points.length).padStart(6)}  ${String(profile.points.length).padStart(13)}  ${String(minimum).padStart(16)}  ${String(gatehouse).padStart(9)}`);
  }
  return rows;
}

async function brokerUrl(): Promise<{ url: string; embedded?: EmbeddedBroker }> {
  const url = process.env.GH_BENCH_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
  const { hostname, port } = new URL(url);
  try {
    await waitForPort(Number(port || 1883), hostname, 1000);
    return { url };
  } catch {
    const embedded = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }) });
    return { url: embedded.url, embedded };
  }
}

async function load() {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-modbus-'));
  const endpoints = Math.ceil(METERS / METERS_PER_ENDPOINT);
  const basePort = 21000 + Math.floor(Math.random() * 20000);
  const meters = Array.from({ length: METERS }, (_, i) => ({ id: `m${i}`, endpoint: Math.floor(i / METERS_PER_ENDPOINT), unitId: (i % METERS_PER_ENDPOINT) + 1 }));
  writeFileSync(
    join(dir, 'sim.yaml'),
    stringify({
      modbusTcp: Array.from({ length: endpoints }, (_, e) => ({
        port: basePort + e,
        meters: meters.filter((m) => m.endpoint === e).map((m) => ({ id: m.id, unitId: m.unitId, model: 'eastron-sdm630', shape: 'office', ratedKw: 100, initialImportKwh: 1000 })),
      })),
    }),
  );
  const broker = await brokerUrl();
  const site = `bench-${process.pid}`;
  writeFileSync(
    join(dir, 'edge.yaml'),
    stringify({
      site,
      gateway: 'gw-01',
      mqtt: { url: broker.url },
      dataDir: join(dir, 'edge'),
      uplink: { maxBatchReadings: 5000 },
      modbus: { timeoutMs: 1000, retries: 0, tcpConcurrency: 1 },
      http: { host: '127.0.0.1', port: 0 },
      devices: meters.map((m) => ({ id: m.id, driver: 'modbus+tcp', host: '127.0.0.1', port: basePort + m.endpoint, unitId: m.unitId, profile: 'eastron-sdm630', intervalMs: 1000 })),
    }),
  );

  const sim = startGatehouse(['sim', '--config', join(dir, 'sim.yaml')]);
  await waitForPort(basePort + endpoints - 1).catch((err: Error) => {
    throw new Error(`${err.message}; simulator output:\n${sim.output()}`);
  });
  const gateway = startGatehouse(['edge', '--config', join(dir, 'edge.yaml')], { LOG_LEVEL: 'info' });
  const httpPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${gateway.output()}`)), 30_000);
    const check = setInterval(() => {
      const m = /"httpPort":(\d+)/.exec(gateway.output());
      if (m) {
        clearInterval(check);
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    }, 100);
  });

  // Reading age when it reaches the broker: the gateway's poll time against the arrival time.
  const ages: number[] = [];
  const subscriber = connect(broker.url);
  subscriber.on('message', (_topic, payload) => {
    const now = Date.now();
    const batch = JSON.parse(payload.toString()) as { readings: { ts: number }[] };
    for (let i = 0; i < batch.readings.length; i += 50) ages.push(now - (batch.readings[i]?.ts ?? now));
  });
  await subscriber.subscribeAsync(`gh/v1/${site}/gw-01/telemetry`);

  const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  await sleep(WARMUP_SECONDS * 1000);
  ages.length = 0;
  const before = { cpu: processCpuSeconds(gateway.pid), text: await metrics(), at: Date.now() };
  const rss: number[] = [];
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000);
    rss.push(processRssMiB(gateway.pid));
  }
  const after = { cpu: processCpuSeconds(gateway.pid), text: await metrics(), at: Date.now() };
  const elapsed = (after.at - before.at) / 1000;
  const delta = (name: string, labels: Record<string, string> = {}) => sumMetric(after.text, name, labels) - sumMetric(before.text, name, labels);

  const requestsOk = delta('gh_edge_modbus_requests_total', { result: 'ok' });
  const requestsFailed = delta('gh_edge_modbus_requests_total') - requestsOk;
  const readsPerPoll = planReads(loadProfiles([BUILT_IN_PROFILE_DIR]).get('eastron-sdm630')!.points, { maxGap: 124 }).length;
  const pollsPerSecond = requestsOk / readsPerPoll / elapsed;
  const readingsPerSecond = delta('gh_edge_readings_total', { quality: 'good' }) / elapsed;
  const published = delta('gh_edge_readings_published_total') / elapsed;
  const skipped = delta('gh_edge_polls_skipped_total');
  const cpuPercent = ((after.cpu - before.cpu) / elapsed) * 100;
  const maxRss = Math.max(...rss);
  const sortedAges = ages.sort((a, b) => a - b);

  subscriber.end(true);
  await gateway.stop();
  await sim.stop();
  await broker.embedded?.close();

  out();
  out(`Load: ${METERS} simulated SDM630 meters (every point) on ${endpoints} Modbus TCP endpoints, polled every 1 s, ${elapsed.toFixed(1)} s measured after ${WARMUP_SECONDS} s warm-up; broker ${broker.embedded ? 'embedded aedes' : broker.url}`);
  out(`  polls per second            ${pollsPerSecond.toFixed(1)} (target ${METERS})`);
  out(`  modbus requests per second  ${(requestsOk / elapsed).toFixed(1)} ok, ${requestsFailed} failed`);
  out(`  polls skipped               ${skipped}`);
  out(`  readings per second         ${readingsPerSecond.toFixed(0)} produced, ${published.toFixed(0)} acknowledged by the broker`);
  out(`  gateway CPU                 ${cpuPercent.toFixed(1)} % of one core (target < 50 %)`);
  out(`  gateway RSS                 ${maxRss.toFixed(1)} MiB max (target < 150 MB)`);
  out(`  reading age at the broker   p50 ${percentile(sortedAges, 50)} ms, p99 ${percentile(sortedAges, 99)} ms`);
  return { pollsPerSecond, cpuPercent, maxRss, skipped, requestsFailed, ageP50: percentile(sortedAges, 50), ageP99: percentile(sortedAges, 99) };
}

async function main() {
  out(describeMachine());
  out();
  const plans = requestPlanning();
  const sdm630 = plans['eastron-sdm630']!;
  const result = await load();
  out(
    JSON.stringify({
      sdm630_requests_per_poll: sdm630.gatehouse,
      sdm630_minimum_requests_per_poll: sdm630.minimum,
      sdm630_one_request_per_point: sdm630.points,
      meters: METERS,
      polls_per_second: Number(result.pollsPerSecond.toFixed(1)),
      polls_skipped: result.skipped,
      requests_failed: result.requestsFailed,
      gateway_cpu_percent_of_one_core: Number(result.cpuPercent.toFixed(1)),
      gateway_rss_mib: Number(result.maxRss.toFixed(1)),
      reading_age_p50_ms: result.ageP50,
      reading_age_p99_ms: result.ageP99,
    }),
  );
}

main().catch((err: Error) => {
  process.stderr.write(`bench:modbus failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
