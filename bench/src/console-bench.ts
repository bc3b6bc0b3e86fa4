/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * `npm run bench:console`: the guard console under a night's load. 200 open alarms, then 10 events a
 * second (half of them repeating an alarm, half ordinary card reads) for 10 minutes, published as a
 * gateway would over MQTT into the cloud on the machine's PostgreSQL; a guard's console open in
 * headless Chromium. Prints, per alarm change: event committed (the alarm's updatedAt, written in the
 * storing transaction) → the row drawn in the browser (the next animation frame after the DOM
 * changed); the console's JS heap at the start and the end (after garbage collection); the alarm
 * list's API latency under that load.
 *
 * GH_BENCH_CONSOLE_MINUTES (default 10), GH_BENCH_CONSOLE_RATE (events/s, default 10),
 * GH_BENCH_CONSOLE_ALARMS (default 200).
 */
import { chromium, type Page } from 'playwright-core';
import { connect, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { eventBatchCodec, gatewayStateCodec, topics, type DeviceEvent } from '@gatehouse/contracts';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { withDatabase } from './bench-database.js';
import { describeMachine, percentile } from './machine.js';

const MINUTES = Number(process.env.GH_BENCH_CONSOLE_MINUTES ?? 10);
const RATE = Number(process.env.GH_BENCH_CONSOLE_RATE ?? 10);
const ALARMS = Number(process.env.GH_BENCH_CONSOLE_ALARMS ?? 200);
const SITE = 'bench-site';
const GATEWAY = 'gw-01';
const GUARD = { username: 'bench.guard', password: 'bench-guard-password' };

const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes event batches as gateway gw-01 would: journal sequence numbers in order, QoS 1. */
class FakeGatewayUplink {
  private seq = 1;
  private eventId = 0;
  constructor(private readonly client: MqttClient) {}

  async publish(events: Omit<DeviceEvent, 'id'>[]): Promise<void> {
    const batch = events.map((e) => ({ ...e, id: `bench-${++this.eventId}` }));
    const payload = eventBatchCodec.encode({ v: 1, seq: this.seq, lastSeq: this.seq + batch.length - 1, sentAt: Date.now(), historical: false, events: batch });
    this.seq += batch.length;
    await this.client.publishAsync(topics.events({ site: SITE, gateway: GATEWAY }), payload, { qos: 1 });
  }
}

async function openConsole(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByTestId('login-username').fill(GUARD.username);
  await page.getByTestId('login-password').fill(GUARD.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('alarm-row').first().waitFor({ timeout: 30_000 });
  // Every time a row's updatedAt changes (a new alarm, a repeat), note when it reached the screen.
  await page.evaluate(() => {
    const w = window as unknown as { __benchLatencies: number[] };
    w.__benchLatencies = [];
    const seen = new Map<string, string>();
    const measure = () => {
      const now = performance.timeOrigin + performance.now();
      for (const row of document.querySelectorAll<HTMLElement>('[data-testid="alarm-row"]')) {
        const id = row.dataset.alarmId ?? '';
        const updated = row.dataset.updatedAt ?? '';
        if (seen.get(id) === updated) continue;
        seen.set(id, updated);
        w.__benchLatencies.push(now - Number(updated));
      }
    };
    for (const row of document.querySelectorAll<HTMLElement>('[data-testid="alarm-row"]')) seen.set(row.dataset.alarmId ?? '', row.dataset.updatedAt ?? '');
    new MutationObserver(() => requestAnimationFrame(measure)).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-updated-at'] });
  });
}

async function heapMiB(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  return usedSize / 2 ** 20;
}

async function run(dbUrl: string): Promise<Record<string, number>> {
  const logger = pino({ level: 'warn' });
  const cloud: RunningCloud = await startCloud(
    { http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'postgres', connectionString: dbUrl }, embeddedBroker: { host: '127.0.0.1', port: 0 }, sites: [{ id: SITE, timeZone: 'Asia/Shanghai' }] },
    logger,
    { onFirstAdmin: () => undefined },
  );
  const base = `http://127.0.0.1:${cloud.httpPort}`;
  const token = await cloud.db.transaction(async (tx) => {
    await cloud.auth.users.create(tx, { username: GUARD.username, password: GUARD.password, roles: ['guard'], sites: [SITE] });
    return (await cloud.auth.tokens.create(tx, GUARD.username, { name: 'bench', roles: ['guard'], sites: [SITE], expiresAt: Date.now() + 86_400_000 })).token;
  });
  const mqttClient = connectClient(cloud.brokerUrl!);
  await new Promise<void>((resolve, reject) => {
    mqttClient.once('connect', () => resolve());
    mqttClient.once('error', reject);
  });
  const uplink = new FakeGatewayUplink(mqttClient);
  // The gateway's birth: its doors.
  const doors = Array.from({ length: ALARMS }, (_, i) => `door-${String(i + 1).padStart(3, '0')}`);
  await mqttClient.publishAsync(
    topics.state({ site: SITE, gateway: GATEWAY }),
    gatewayStateCodec.encode({ v: 1, status: 'online', ts: Date.now(), version: 'bench', devices: doors.map((id) => ({ id, kind: 'access_panel', driver: 'osdp+tcp' })) }),
    { qos: 1, retain: true },
  );
  out(`  raising ${ALARMS} alarms (a forced door each)…`);
  for (let i = 0; i < doors.length; i += 50) await uplink.publish(doors.slice(i, i + 50).map((device) => ({ device, type: 'door_forced_open', ts: Date.now() })));
  const api = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  for (;;) {
    const body = (await (await api(`/api/v1/alarms?site=${SITE}&limit=500`)).json()) as { alarms?: unknown[] };
    if ((body.alarms?.length ?? 0) >= ALARMS) break;
    await sleep(200);
  }

  const browser = await chromium.launch({ executablePath: process.env.GH_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await openConsole(page, base);
  const rows = await page.getByTestId('alarm-row').count();
  const heapStart = await heapMiB(page);
  out(`  console open with ${rows} alarms drawn; JS heap ${heapStart.toFixed(1)} MiB after garbage collection`);

  const apiTimes: number[] = [];
  const durationMs = MINUTES * 60_000;
  const started = Date.now();
  let sent = 0;
  let alarmEvents = 0;
  out(`  ${RATE} events/s for ${MINUTES} min: half repeat a forced door, half are card reads…`);
  let lastReport = started;
  // The console's heap once a minute (after a garbage collection): a leak shows as a steady climb.
  const heapByMinute: number[] = [];
  // The alarm list, asked for once a second alongside, as another console or a script would.
  let running = true;
  const poller = (async () => {
    while (running) {
      const began = performance.now();
      const res = await api(`/api/v1/alarms?site=${SITE}&limit=500`);
      await res.arrayBuffer();
      apiTimes.push(performance.now() - began);
      await sleep(1000);
    }
  })();
  // Events at an even pace, each on its own schedule (a slow publish does not lower the rate).
  const total = Math.round((durationMs / 1000) * RATE);
  for (let k = 0; k < total; k++) {
    const due = started + (k * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const device = doors[Math.floor(Math.random() * doors.length)]!;
    if (k % 2 === 0) {
      await uplink.publish([{ device, type: 'door_forced_open', ts: Date.now() }]);
      alarmEvents++;
    } else {
      await uplink.publish([{ device, type: 'access_granted', ts: Date.now(), credential: `****${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}` }]);
    }
    sent++;
    if (Date.now() - lastReport >= 60_000) {
      lastReport = Date.now();
      const heap = await heapMiB(page);
      heapByMinute.push(heap);
      out(`    ${Math.round((Date.now() - started) / 60_000)} min: ${sent} events sent, console JS heap ${heap.toFixed(2)} MiB`);
    }
  }
  running = false;
  await poller;
  await sleep(2000);
  const latencies = ((await page.evaluate(() => (window as unknown as { __benchLatencies: number[] }).__benchLatencies)) as number[]).sort((a, b) => a - b);
  const heapEnd = await heapMiB(page);
  apiTimes.sort((a, b) => a - b);
  const figures = {
    open_alarms: rows,
    events_per_second: RATE,
    minutes: MINUTES,
    events_sent: sent,
    alarm_changes_sent: alarmEvents,
    alarm_changes_drawn: latencies.length,
    event_committed_to_alarm_drawn_p50_ms: round(percentile(latencies, 50)),
    event_committed_to_alarm_drawn_p99_ms: round(percentile(latencies, 99)),
    event_committed_to_alarm_drawn_max_ms: round(latencies[latencies.length - 1] ?? Number.NaN),
    console_js_heap_start_mib: round2(heapStart),
    console_js_heap_first_minute_mib: round2(heapByMinute[0] ?? Number.NaN),
    console_js_heap_end_mib: round2(heapEnd),
    alarm_list_api_p50_ms: round(percentile(apiTimes, 50)),
    alarm_list_api_p99_ms: round(percentile(apiTimes, 99)),
  };
  out(`  event committed → alarm drawn: p50 ${figures.event_committed_to_alarm_drawn_p50_ms} ms, p99 ${figures.event_committed_to_alarm_drawn_p99_ms} ms, max ${figures.event_committed_to_alarm_drawn_max_ms} ms (${latencies.length} alarm changes drawn of ${alarmEvents} sent; repeats within one frame draw once)`);
  out(`  console JS heap: ${figures.console_js_heap_start_mib} MiB at the start, ${figures.console_js_heap_first_minute_mib} MiB after the first minute, ${figures.console_js_heap_end_mib} MiB after ${MINUTES} min (by minute: ${heapByMinute.map((h) => h.toFixed(2)).join(', ')})`);
  out(`  GET /api/v1/alarms (up to 500) under load: p50 ${figures.alarm_list_api_p50_ms} ms, p99 ${figures.alarm_list_api_p99_ms} ms (${apiTimes.length} requests)`);
  await browser.close();
  await mqttClient.endAsync();
  await cloud.stop();
  return figures;
}

function connectClient(url: string): MqttClient {
  return connect(url, { clientId: `gh-${SITE}-${GATEWAY}`, clean: true });
}

const round = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  out('Gatehouse console benchmark: a guard\'s console under load (PostgreSQL, embedded broker, headless Chromium)');
  out(describeMachine());
  const figures = await withDatabase(run);
  out();
  out(JSON.stringify(figures));
}

await main();
