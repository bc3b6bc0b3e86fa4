import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { createCloudMetrics, createPostgresClient, GapDetector } from '@gatehouse/cloud';
import { findFreePort } from '@gatehouse/firmware-sim';
import { pino } from 'pino';
import { sleep, startGatehouse, waitForPort, type Child } from '../processes.js';
import { TcpProxy } from './tcp-proxy.js';
import { compareServedWithStored, type Comparison, type ServedValue, type StoredValue } from './served-vs-stored.js';
import { compareForcedWithStored, ForcedDoor, type ForcedDoorComparison } from './forced-door.js';
import { AlarmGuard, alarmFigures, readJournaledForcedDoors, type AlarmFigures } from './alarm-checks.js';

const silentLogger = pino({ level: 'silent' });

export type FaultKind = 'kill_gateway' | 'kill_cloud' | 'restart_broker' | 'cut_database' | 'partition';

export interface ChaosOptions {
  /** how long faults are inflicted */
  durationMs: number;
  /** pause between two faults */
  faultEveryMs: number;
  /** length of a network partition between gateway and broker */
  partitionMs: number;
  meters: number;
  pollIntervalMs: number;
  /** PostgreSQL server to create the chaos database on (as a superuser) */
  pgAdminUrl: string;
  /** the simulated OSDP door is forced open this often (3 s), for `doorOpenMs` (1 s) */
  doorForcedEveryMs?: number;
  doorOpenMs?: number;
  /** a guard acknowledges and closes the door's open alarms this often (5 s) */
  guardEveryMs?: number;
  log: (line: string) => void;
}

/** What became of the forced door: reader, gateway journal, events and alarms in the database. */
export interface DoorAlarmReport extends ForcedDoorComparison, Omit<AlarmFigures, 'doorForcedStoredTs' | 'doorForcedStoredIds' | 'doorForcedStored'> {
  /** door_forced_open events in the gateway's journal */
  journaled: number;
  /** journaled but not stored (must be none: events are never dropped) */
  journaledNotStored: number;
  /** stored but not in the journal */
  storedNotJournaled: number;
  /** alarms the guard closed */
  closedByGuard: number;
}

export interface ChaosReport extends Comparison {
  faults: Record<FaultKind, number>;
  crashWindows: number;
  durationSeconds: number;
  historicalBatches: number;
  door: DoorAlarmReport;
}

/** Values served by the simulator: JSON lines written by its `servedLog`. */
function readServedLog(file: string): Map<string, ServedValue[]> {
  const served = new Map<string, ServedValue[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const read = JSON.parse(line) as { ts: number; device: string; values: Record<string, number> };
    for (const [metric, value] of Object.entries(read.values)) {
      const key = `${read.device}/${metric}`;
      let list = served.get(key);
      if (!list) served.set(key, (list = []));
      list.push({ ts: read.ts, value });
    }
  }
  return served;
}

/**
 * kill -9 and wait for the exit. A component that already exited on its own crashed (or was stopped
 * by something else): the run says so with what it printed, rather than waiting for an exit that
 * already happened.
 */
async function killNow(child: Child, name: string): Promise<void> {
  const p = child.process;
  if (p.exitCode !== null || p.signalCode !== null) {
    throw new Error(`${name} exited on its own (code ${p.exitCode}, signal ${p.signalCode}) before it was to be killed; its last output:\n${child.output()}`);
  }
  await new Promise((resolve) => {
    p.once('exit', resolve);
    p.kill('SIGKILL');
  });
}

class Mosquitto {
  private process: ChildProcess | undefined;
  constructor(
    private readonly confFile: string,
    readonly port: number,
  ) {}
  async start(): Promise<void> {
    this.process = spawn('mosquitto', ['-c', this.confFile], { stdio: 'ignore' });
    this.process.once('error', (err) => {
      throw new Error(`mosquitto is required for the chaos suite (apt-get install mosquitto): ${err.message}`);
    });
    await waitForPort(this.port);
  }
  /** A graceful stop: Mosquitto writes its persistent store on the way out. */
  async stop(): Promise<void> {
    const p = this.process;
    this.process = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
}

/**
 * Simulated meters → gateway → (proxy) → Mosquitto → two cloud instances sharing the stream →
 * PostgreSQL, every one a separate process, while faults are inflicted in turn: kill -9 of the gateway
 * and of a cloud instance, a broker restart, the database's connections cut, a network partition.
 * Afterwards every value the meters served is looked for in the database.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const dir = mkdtempSync(join(tmpdir(), 'gh-chaos-'));
  chmodSync(dir, 0o755);
  const dbName = `gh_chaos_${process.pid}_${Date.now() % 100000}`;
  const admin = new pg.Client({ connectionString: options.pgAdminUrl });
  await admin.connect().catch((err: Error) => {
    throw new Error(`PostgreSQL is required for the chaos suite at ${options.pgAdminUrl}: ${err.message}`);
  });
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(options.pgAdminUrl);
  dbUrl.pathname = `/${dbName}`;
  // Our own connection is cut with the others: a client that has lost its backend must not crash us.
  const openDb = () => {
    const client = new pg.Client({ connectionString: dbUrl.toString() });
    client.on('error', () => undefined);
    return client;
  };
  let db = openDb();

  const children: Child[] = [];
  let mosquitto: Mosquitto | undefined;
  let proxy: TcpProxy | undefined;
  const door = new ForcedDoor(1, options.doorForcedEveryMs ?? 3000, options.doorOpenMs ?? 1000);
  let guard: AlarmGuard | undefined;
  try {
    // Broker: a Mosquitto of our own, persistent, with room for long outages.
    const brokerPort = await findFreePort();
    mkdirSync(join(dir, 'mosquitto'), { mode: 0o777 });
    chmodSync(join(dir, 'mosquitto'), 0o777);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [`listener ${brokerPort} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${join(dir, 'mosquitto')}/`, 'autosave_interval 1', 'max_queued_messages 0', 'max_queued_bytes 0', 'log_dest none', ''].join('\n'),
    );
    mosquitto = new Mosquitto(join(dir, 'mosquitto.conf'), brokerPort);
    await mosquitto.start();
    proxy = new TcpProxy('127.0.0.1', brokerPort);
    const proxyPort = await proxy.start();

    // Simulated meters, logging every value they serve.
    const modbusPort = await findFreePort();
    const servedLog = join(dir, 'served.jsonl');
    const meters = Array.from({ length: options.meters }, (_, i) => ({ id: `m${i + 1}`, unitId: i + 1, model: 'eastron-sdm630', shape: 'office', ratedKw: 60 + i, initialImportKwh: 1000 * (i + 1) }));
    writeFileSync(join(dir, 'sim.yaml'), stringify({ servedLog, modbusTcp: [{ port: modbusPort, meters }] }));
    const sim = startGatehouse(['sim', '--config', join(dir, 'sim.yaml')]);
    children.push(sim);
    await waitForPort(modbusPort);
    // An OSDP door forced open every few seconds, simulated here so that every opening is counted.
    const doorPort = await door.listen();

    // Two cloud instances sharing the stream.
    const startCloud = (name: string): Child => {
      const file = join(dir, `cloud-${name}.yaml`);
      writeFileSync(
        file,
        stringify({
          http: { host: '127.0.0.1', port: 0 },
          mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, clientId: `gh-chaos-cloud-${name}`, sharedGroup: 'chaos' },
          storage: { kind: 'postgres', connectionString: dbUrl.toString() },
          delivery: { gapCheckMs: 2000, gapGraceMs: 4000, resendEveryMs: 10_000 },
        }),
      );
      return startGatehouse(['cloud', '--config', file]);
    };
    const clouds = { a: startCloud('a'), b: startCloud('b') };
    children.push(clouds.a, clouds.b);

    // The gateway, through the proxy.
    const gatewayHttp = await findFreePort();
    const gatewayConfig = join(dir, 'edge.yaml');
    writeFileSync(
      gatewayConfig,
      stringify({
        site: 'chaos',
        gateway: 'gw-01',
        dataDir: join(dir, 'edge'),
        mqtt: { url: `mqtt://127.0.0.1:${proxyPort}`, keepaliveSeconds: 5 },
        journal: { fsync: 'interval', fsyncIntervalMs: 200 },
        modbus: { timeoutMs: 1000, reconnectDelayMs: 200 },
        http: { host: '127.0.0.1', port: gatewayHttp },
        devices: [
          ...meters.map((m) => ({ id: m.id, driver: 'modbus+tcp', host: '127.0.0.1', port: modbusPort, unitId: m.unitId, profile: 'eastron-sdm630', intervalMs: options.pollIntervalMs })),
          { id: 'door-1', driver: 'osdp+tcp', host: '127.0.0.1', port: doorPort, address: door.address, door: { unlockMs: 1000, heldOpenMs: 30_000, cards: [] } },
        ],
      }),
    );
    let gateway = startGatehouse(['edge', '--config', gatewayConfig]);
    children.push(gateway);
    await waitForPort(gatewayHttp);

    await db.connect();
    const storedCount = async () => Number((await db.query('SELECT count(*) AS n FROM readings')).rows[0]?.n ?? 0);
    for (let i = 0; (await storedCount().catch(() => 0)) === 0; i++) {
      if (i > 300) throw new Error(`no reading stored within 30 s\n${gateway.output()}\n${clouds.a.output()}`);
      await sleep(100);
    }
    log(`running: ${options.meters} meters every ${options.pollIntervalMs} ms, a door forced open every ${options.doorForcedEveryMs ?? 3000} ms; faults every ${options.faultEveryMs} ms for ${options.durationMs / 1000} s`);
    door.start();
    guard = new AlarmGuard(dbUrl.toString(), silentLogger);
    guard.start(options.guardEveryMs ?? 5000);

    // Faults, in turn.
    const faults: Record<FaultKind, number> = { kill_gateway: 0, kill_cloud: 0, restart_broker: 0, cut_database: 0, partition: 0 };
    const crashWindows: { from: number; to: number }[] = [];
    // Around a gateway kill, door openings may never become events (see compareForcedWithStored), and
    // what the reader queued meanwhile is reported once the new gateway reads it.
    const doorCrashWindows: { from: number; to: number }[] = [];
    const order: FaultKind[] = ['kill_gateway', 'restart_broker', 'kill_cloud', 'partition', 'cut_database'];
    const started = Date.now();
    let turn = 0;
    let cloudTurn = 0;
    while (Date.now() - started < options.durationMs) {
      const fault = order[turn++ % order.length]!;
      faults[fault]++;
      switch (fault) {
        case 'kill_gateway': {
          const at = Date.now();
          await killNow(gateway, 'the gateway');
          // What the gateway had read but not yet written to its journal is gone with it.
          crashWindows.push({ from: at - 1500, to: Date.now() });
          await sleep(1000);
          gateway = startGatehouse(['edge', '--config', gatewayConfig]);
          children.push(gateway);
          await waitForPort(gatewayHttp);
          doorCrashWindows.push({ from: at - 1500, to: Date.now() + 2000 });
          break;
        }
        case 'kill_cloud': {
          const name = cloudTurn++ % 2 === 0 ? 'a' : 'b';
          await killNow(clouds[name], `cloud instance ${name}`);
          await sleep(1500);
          clouds[name] = startCloud(name);
          children.push(clouds[name]);
          break;
        }
        case 'restart_broker':
          await mosquitto.stop();
          await sleep(1500);
          await mosquitto.start();
          break;
        case 'cut_database':
          await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
          // Our own connection was cut too.
          await db.end().catch(() => undefined);
          db = openDb();
          await db.connect();
          break;
        case 'partition':
          proxy.cut(faults.partition % 2 === 1 ? 'blackhole' : 'refuse');
          await sleep(options.partitionMs);
          proxy.heal();
          break;
      }
      log(`fault ${fault} done (${Math.round((Date.now() - started) / 1000)} s)`);
      await sleep(options.faultEveryMs);
    }

    // Settle: the meters stop (their log is complete), the gateway delivers its backlog, and every range
    // it delivered is in the database (the cloud asks for lost ones again); then the gateway stops.
    log('faults over; draining');
    await sim.stop();
    await door.stopForcing();
    await guard.stop();
    const closedByGuard = guard.closed;
    guard = undefined;
    // The door's last reports reach the gateway within a few polls.
    await sleep(1000);
    type Stream = { backlogItems: number };
    const health = async () => (await (await fetch(`http://127.0.0.1:${gatewayHttp}/health`)).json()) as { connected: boolean; streams: { telemetry: Stream; events: Stream } };
    for (let i = 0; ; i++) {
      const h = await health().catch(() => undefined);
      if (h?.connected && h.streams.telemetry.backlogItems === 0 && h.streams.events.backlogItems === 0) break;
      if (i > 1200) throw new Error(`gateway backlog did not drain: ${JSON.stringify(h)}`);
      await sleep(100);
    }
    const checker = createPostgresClient({ connectionString: dbUrl.toString(), maxConnections: 1 });
    const gaps = new GapDetector({ db: checker, publish: async () => undefined, logger: silentLogger, metrics: createCloudMetrics(), checkEveryMs: 1000, graceMs: 0, resendEveryMs: 1000 });
    const eventCount = async () => Number((await db.query('SELECT count(*) AS n FROM events')).rows[0]?.n ?? 0);
    let last = '';
    for (let i = 0, stable = 0; stable < 50; i++) {
      const n = `${await storedCount()} readings, ${await eventCount()} events`;
      const missing = await gaps.missing();
      stable = n === last && missing.length === 0 ? stable + 1 : 0;
      last = n;
      if (i > 1800) throw new Error(`ranges still missing after 3 minutes: ${JSON.stringify(missing)}`);
      await sleep(100);
    }
    await checker.close();
    await gateway.stop();
    await door.close();

    const stored = new Map<string, StoredValue[]>();
    const rows = await db.query<{ device: string; metric: string; ts: number; value: number | null }>(
      `SELECT s.device, s.metric, (extract(epoch from r.ts) * 1000)::float8 AS ts, r.value
         FROM readings r JOIN series s ON s.id = r.series_id ORDER BY s.device, s.metric, r.ts`,
    );
    for (const r of rows.rows) {
      const key = `${r.device}/${r.metric}`;
      let list = stored.get(key);
      if (!list) stored.set(key, (list = []));
      list.push({ ts: r.ts, value: r.value });
    }
    const historicalBatches = Number((await db.query("SELECT count(*) AS n FROM received_batches WHERE historical")).rows[0]?.n ?? 0);
    const comparison = compareServedWithStored(readServedLog(servedLog), stored, crashWindows);

    // The door: what the reader did, what the gateway journaled, what was stored and counted on alarms.
    const alarms = await alarmFigures(db);
    const journaled = readJournaledForcedDoors(join(dir, 'edge'));
    const storedIds = new Set(alarms.doorForcedStoredIds);
    const { doorForcedStoredTs, doorForcedStoredIds, doorForcedStored, ...counts } = alarms;
    const doorReport: DoorAlarmReport = {
      ...compareForcedWithStored(door.openings, doorForcedStoredTs, doorCrashWindows),
      ...counts,
      stored: doorForcedStored,
      journaled: journaled.size,
      journaledNotStored: [...journaled.keys()].filter((id) => !storedIds.has(id)).length,
      storedNotJournaled: doorForcedStoredIds.filter((id) => !journaled.has(id)).length,
      closedByGuard,
    };
    return { ...comparison, faults, crashWindows: crashWindows.length, durationSeconds: Math.round((Date.now() - started) / 1000), historicalBatches, door: doorReport };
  } finally {
    await guard?.stop().catch(() => undefined);
    await door.close();
    await Promise.all(children.map((c) => c.stop()));
    await proxy?.stop();
    await mosquitto?.stop();
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
