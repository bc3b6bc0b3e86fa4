import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { cloudReplayFilter, lockDataFolder } from '@gatehouse/contracts';
import { buildApi } from './api/app.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded-broker.js';
import { cloudConfigSchema, type CloudConfigInput } from './config.js';
import { IngestService } from './ingest/ingest-service.js';
import { GapDetector } from './ingest/gap-detector.js';
import { MqttSubscriber } from './ingest/mqtt-subscriber.js';
import { CommandService } from './commands/command-service.js';
import { createCloudMetrics, type CloudMetrics } from './status/metrics.js';
import { DeadLetterStore } from './storage/dead-letters.js';
import { EventStore } from './storage/event-store.js';
import { migrate } from './storage/migrations.js';
import { SiteRegistry } from './storage/site-registry.js';
import { createPgliteClient, createPostgresClient, type SqlClient } from './storage/sql-client.js';
import { openTimeSeriesStore } from './storage/open-time-series-store.js';
import { SqlTimeSeriesStore } from './storage/sql/sql-time-series-store.js';
import { RETENTION_KEYS, retentionDays, StorageJobs } from './storage/storage-jobs.js';
import { DetectionService } from './detection/detection-service.js';
import { registerFindingRoutes } from './detection/finding-routes.js';
import type { TimeSeriesStore } from './storage/time-series-store.js';
import { CLOUD_VERSION } from './version.js';
import { createAuthServices, type AuthServices } from './auth/auth-services.js';
import { ensureFirstAdmin } from './auth/first-admin.js';
import { LiveHub } from './live/live-hub.js';
import { registerEventRoutes } from './api/event-routes.js';
import { AlarmJobs, AlarmService, registerAlarmRoutes } from './alarms/index.js';
import { AssetLedger, MaintenancePlans, registerLedgerRoutes, registerWorkOrderRoutes, resolvePlan, WorkOrderJobs, WorkOrderRaiser, WorkOrderService, type UsageReader } from './workorders/index.js';
import { WorkOrderNotifier } from './workorders/work-order-notifier.js';
import { registerDoorRoutes } from './api/door-routes.js';

export interface RunningCloud {
  httpPort: number;
  /** url of the embedded broker, when this instance runs one */
  brokerUrl?: string;
  db: SqlClient;
  timeSeries: TimeSeriesStore;
  metrics: CloudMetrics;
  api: FastifyInstance;
  auth: AuthServices;
  /** the energy detectors (runOnce: one pass now) */
  detection: DetectionService;
  /** the preventive plans (run: one round now) */
  plans: MaintenancePlans;
  stop(): Promise<void>;
}

export interface StartCloudOptions {
  /**
   * Told of the admin created on a database without users; default: prints the generated password
   * once on stderr (it is stored only as a hash).
   */
  onFirstAdmin?: (admin: { username: string; generatedPassword?: string }) => void;
}

function printFirstAdmin(admin: { username: string; generatedPassword?: string }): void {
  if (admin.generatedPassword === undefined) return;
  process.stderr.write(
    `\nFirst start: created the user "${admin.username}" with the password\n\n    ${admin.generatedPassword}\n\n` +
      'It is shown this once. Log in and change it, or set GATEHOUSE_ADMIN_PASSWORD before the first start.\n\n',
  );
}

/** Opens (and migrates) the cloud's relational database, for tools such as `gatehouse users`. */
export async function openCloudDatabase(config: ReturnType<typeof cloudConfigSchema.parse>['storage']): Promise<SqlClient> {
  const db = await openStorage(config);
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

async function openStorage(config: ReturnType<typeof cloudConfigSchema.parse>['storage']): Promise<SqlClient> {
  if (config.kind === 'postgres') return createPostgresClient({ connectionString: config.connectionString, maxConnections: config.maxConnections });
  if (!config.dataDir) return createPgliteClient(undefined);
  // PGlite's files are one process's alone: a second process on them would corrupt the database.
  const folderLock = lockDataFolder(config.dataDir, 'the cloud (PGlite)');
  try {
    const db = await createPgliteClient(config.dataDir);
    return {
      ...db,
      close: async () => {
        try {
          await db.close();
        } finally {
          folderLock.release();
        }
      },
    };
  } catch (err) {
    folderLock.release();
    throw err;
  }
}

/**
 * Starts the cloud service: storage (migrated), the MQTT ingest, the HTTP API and, for the site in a box,
 * an embedded broker. Stops in reverse order.
 */
export async function startCloud(input: CloudConfigInput, logger: Logger, options: StartCloudOptions = {}): Promise<RunningCloud> {
  const config = cloudConfigSchema.parse(input);
  const log = logger.child({ component: 'cloud' });
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: Error) => log.error({ err: err.message }, 'error while stopping'));
    }
    cleanups.length = 0;
    log.info('cloud stopped');
  };

  try {
    const metrics = createCloudMetrics();
    const db = await openStorage(config.storage);
    cleanups.push(() => db.close());
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ applied }, 'database migrated');

    let broker: EmbeddedBroker | undefined;
    if (config.embeddedBroker) {
      broker = await startEmbeddedBroker({ ...config.embeddedBroker, logger: log, accounts: config.brokerAccounts, onRefused: (what) => metrics.brokerRefusals.inc({ what }) });
      const b = broker;
      cleanups.push(() => b.close());
    }

    const auth = createAuthServices(db, config.auth);
    const firstAdmin = await ensureFirstAdmin(db, auth.users);
    if (firstAdmin) {
      log.warn({ username: firstAdmin.username, generated: firstAdmin.generatedPassword !== undefined }, 'no users yet: created the first admin');
      (options.onFirstAdmin ?? printFirstAdmin)(firstAdmin);
    }
    const live = new LiveHub({ db, logger: log });
    await live.start();
    cleanups.push(async () => live.stop());

    const registry = new SiteRegistry(db);
    for (const site of config.sites) {
      const { timeZoneChanged } = await registry.declareSite(site);
      if (timeZoneChanged) log.warn({ site: site.id, timeZone: site.timeZone }, 'site time zone changed: its rollups are being recomputed');
    }
    const timeSeries = await openTimeSeriesStore(db, config.timeSeries, config.storage.kind === 'postgres' ? config.storage.timescale : undefined);
    if (timeSeries instanceof SqlTimeSeriesStore && timeSeries.layout.kind === 'hypertable') {
      const { version, compression, notes } = timeSeries.layout;
      log.info({ timescale: version, compression }, 'readings in a TimescaleDB hypertable');
      for (const note of notes) log.warn({ timescale: version }, note);
    }
    cleanups.push(() => timeSeries.close());
    // On TimescaleDB its own policies drop old chunks; the service's retention job keeps the rest.
    const retention = { ...config.retention };
    const byPolicy = await timeSeries.retainByPolicy?.(retentionDays(config.retention));
    for (const note of byPolicy?.notes ?? []) log.info(note);
    for (const target of byPolicy?.targets ?? []) delete retention[RETENTION_KEYS[target]];
    const storageJobs = new StorageJobs(timeSeries, { refreshEveryMs: config.rollups.refreshEveryMs, retention, metrics, logger: log });
    storageJobs.start();
    cleanups.push(() => storageJobs.stop());
    const events = new EventStore(db);
    // Alarms are raised in the transaction that stores their event: an event stored is an alarm raised.
    const alarms = new AlarmService({ db, config: config.alarms, logger: log });
    alarms.attach(events);
    // This instance's consoles hear of what it stored at once; other instances' at their next read.
    events.onCommitted(() => live.nudge());
    const alarmJobs = new AlarmJobs({ db, alarms, logger: log });
    alarmJobs.start();
    cleanups.push(() => alarmJobs.stop());
    // Energy detectors on the rollups: findings, and the energy_anomaly health alarms drawn from them.
    const detection = new DetectionService({ db, timeSeries, config: config.detection, sites: config.sites, logger: log });
    // Work orders from findings and lasting faults: a round after each detection run, and on a timer.
    const workOrders = new WorkOrderService({ db, config: config.workOrders, calendar: detection.calendar, logger: log });
    // Teams are told of orders raised by hand too: the timer runs even when nothing is raised automatically.
    const workOrderNotifier = new WorkOrderNotifier({ db, config: config.workOrders, smtp: config.alarms.smtp, logger: log });
    // Preventive plans read usage (run hours, kWh, m³) from the meters' latest counter values.
    const readUsage: UsageReader = async (site, device, metric) => (await timeSeries.latest(site, device)).find((r) => r.metric === metric)?.value ?? undefined;
    const plans = new MaintenancePlans(db, workOrders, readUsage, log);
    await plans.declare(config.workOrders.plans.map((p) => ({ ...resolvePlan(p, config.workOrders.language), key: p.key })));
    const ledger = new AssetLedger(db, (sites) => plans.nextDueByAsset(sites));
    const workOrderJobs = new WorkOrderJobs(
      [...(config.workOrders.enabled ? [new WorkOrderRaiser(db, workOrders, log)] : []), plans, workOrderNotifier],
      config.workOrders.checkEveryMs,
      log,
    );
    detection.onRun(() => workOrderJobs.nudge());
    workOrderJobs.start();
    cleanups.push(async () => {
      await workOrderJobs.stop();
      workOrderNotifier.close();
    });
    if (config.detection.enabled) {
      detection.start();
      cleanups.push(() => detection.stop());
    }
    const deadLetters = new DeadLetterStore(db);
    // Commands go out on the ingest's live connection, which exists further down.
    let publishCommand: (topic: string, payload: Buffer) => Promise<void> = async () => {
      throw new Error('the cloud is not connected to its broker yet');
    };
    const commands = new CommandService({ db, publish: (topic, payload) => publishCommand(topic, payload), logger: log });
    const ingest = new IngestService({ timeSeries, events, registry, deadLetters, metrics, logger: log, commands });

    const mqttUrl = config.mqtt?.url ?? broker?.url;
    if (!mqttUrl) throw new Error('no MQTT broker configured');
    const read = (file: string | undefined) => (file ? readFileSync(file, 'utf8') : undefined);
    // Against our own TLS broker, trust its certificate.
    const ownBrokerTls = !config.mqtt && config.embeddedBroker?.tls ? { caFile: config.embeddedBroker.tls.certFile, rejectUnauthorized: true } : undefined;
    const tls = config.mqtt?.tls ?? ownBrokerTls;
    const mqttOptions = {
      url: mqttUrl,
      ...(tls ? { tls: { ca: read(tls.caFile), cert: read('certFile' in tls ? tls.certFile : undefined), key: read('keyFile' in tls ? tls.keyFile : undefined), rejectUnauthorized: tls.rejectUnauthorized } } : {}),
      // Against our own embedded broker, the cloud uses its account from brokerAccounts.
      username: config.mqtt?.username ?? (config.mqtt ? undefined : config.brokerAccounts?.cloud.username),
      password: config.mqtt?.password ?? (config.mqtt ? undefined : config.brokerAccounts?.cloud.password),
      sharedGroup: config.mqtt?.sharedGroup,
      logger: log,
    };
    const clientId = config.mqtt?.clientId ?? 'gh-cloud-1';
    // Replayed readings come over a connection of their own, so that a large replay never queues in
    // front of live readings at the broker.
    const connections = config.mqtt?.ingestConnections ?? 1;
    const suffix = (i: number) => (i === 0 ? '' : `-${i + 1}`);
    const replaySubscribers = Array.from({ length: connections }, (_, i) => new MqttSubscriber({ ...mqttOptions, clientId: `${clientId}-replay${suffix(i)}`, filters: [cloudReplayFilter] }, ingest));
    const liveSubscribers = Array.from({ length: connections }, (_, i) => new MqttSubscriber({ ...mqttOptions, clientId: `${clientId}${suffix(i)}` }, ingest));
    const subscriber = liveSubscribers[0]!;
    publishCommand = (topic, payload) => subscriber.publish(topic, payload);

    const api = await buildApi({
      db,
      timeSeries,
      registry,
      events,
      deadLetters,
      commands,
      metrics,
      logger: log,
      version: CLOUD_VERSION,
      ingestConnected: () => subscriber.connected,
      auth,
      live,
      domainRoutes: [(a) => registerAlarmRoutes(a, { alarms }), (a) => registerEventRoutes(a, { db, events }), (a) => registerDoorRoutes(a, { db, commands }),
        (a) => registerFindingRoutes(a, { db, requiredDays: config.detection.settings.minHistoryDays }),
        (a) => registerWorkOrderRoutes(a, { orders: workOrders }),
        (a) => registerLedgerRoutes(a, { ledger, plans, orders: workOrders }),
      ],
      ...(config.console.dir ? { consoleDir: config.console.dir } : {}),
      trustProxy: config.http.trustProxy,
    });
    cleanups.push(() => api.close());
    await api.listen({ host: config.http.host, port: config.http.port });
    const httpPort = (api.server.address() as AddressInfo).port;

    for (const each of [...liveSubscribers, ...replaySubscribers]) {
      cleanups.push(() => each.stop());
      await each.start();
    }
    const gaps = new GapDetector({
      db,
      publish: (topic, payload) => subscriber.publish(topic, payload),
      logger: log,
      metrics,
      checkEveryMs: config.delivery.gapCheckMs,
      graceMs: config.delivery.gapGraceMs,
      resendEveryMs: config.delivery.resendEveryMs,
    });
    gaps.start();
    cleanups.push(async () => gaps.stop());
    log.info({ httpPort, storage: db.kind, timeSeries: timeSeries.backend, mqtt: mqttUrl }, 'cloud started');

    return {
      httpPort,
      brokerUrl: broker?.url,
      db,
      timeSeries,
      metrics,
      api,
      auth,
      detection,
      plans,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
