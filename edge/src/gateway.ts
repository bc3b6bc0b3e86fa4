import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deviceEventSchema, lockDataFolder, doorCommandArgsSchema, eventBatchPayload, resendArgsSchema, serializeReadings, telemetryPayload, topics, type Command, type CommandResult, type DeviceEvent, type Reading } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import { gatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './config.js';
import type { DriverContext } from './drivers/driver.js';
import { createDrivers } from './drivers/driver-registry.js';
import { isAccessControlDriver } from './drivers/access/access-driver.js';
import { isCameraDriver } from './drivers/camera/camera-driver.js';
import { VideoLinkage } from './linkage/video-linkage.js';
import { CommandLedger } from './commands/command-ledger.js';
import { executeSnapshotCommand } from './commands/snapshot-command.js';
import { Journal } from './journal/journal.js';
import { compactReadings } from './journal/readings-compaction.js';
import { DriverStateFile } from './drivers/driver-state-file.js';
import { createGatewayMetrics, type GatewayMetrics } from './status/metrics.js';
import { startStatusServer, type StatusServer } from './status/status-server.js';
import { JournalPublisher } from './uplink/journal-publisher.js';
import { MqttUplink } from './uplink/mqtt-uplink.js';
import { GATEWAY_VERSION } from './version.js';

export interface RunningGateway {
  site: string;
  gateway: string;
  /** port of the /metrics and /health listener */
  httpPort: number;
  metrics: GatewayMetrics;
  /** readings in the journal not yet acknowledged by the broker */
  backlog(): number;
  /** runs the journals' disk-budget check now (it also runs every 5 s) */
  enforceJournalBudget(): void;
  /** bytes the telemetry journal takes on disk */
  journalBytes(): number;
  stop(): Promise<void>;
}

const STOP_DRAIN_TIMEOUT_MS = 3000;
const EVENT_BATCH_MAX_BYTES = 6 * 1024 * 1024;

function openJournal(config: GatewayConfig, stream: 'telemetry' | 'events', logger: Logger, metrics: GatewayMetrics): Journal {
  return Journal.open({
    dir: join(resolve(config.dataDir), 'journal', stream),
    name: stream,
    fsync: config.journal.fsync,
    fsyncIntervalMs: config.journal.fsyncIntervalMs,
    groupCommitMs: config.journal.groupCommitMs,
    segmentBytes: config.journal.segmentBytes,
    cacheBytes: 16 * 1024 * 1024,
    retainBytes: config.journal.retainDeliveredBytes,
    logger,
    onCorruptRecord: (reason) => metrics.journalDamagedRecords.inc({ stream, reason }),
    onWrite: (written, payload) => {
      metrics.journalWrittenBytes.inc({ stream }, written);
      metrics.journalPayloadBytes.inc({ stream }, payload);
    },
  });
}

/** The parts of `ranges` that fall in `within` (both lists of inclusive [from, to] ranges). */
function overlaps(ranges: readonly [number, number][], within: readonly [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of ranges) {
    for (const [c, d] of within) {
      const from = Math.max(a, c);
      const to = Math.min(b, d);
      if (from <= to) out.push([from, to]);
    }
  }
  return out;
}

function tlsOptions(config: GatewayConfig) {
  const tls = config.mqtt.tls;
  if (!tls) return undefined;
  const read = (file: string | undefined) => (file ? readFileSync(file, 'utf8') : undefined);
  return { ca: read(tls.caFile), cert: read(tls.certFile), key: read(tls.keyFile), rejectUnauthorized: tls.rejectUnauthorized };
}

/**
 * Starts a gateway: its device drivers, which append everything they produce to the journals first;
 * the publishers that deliver the journals over MQTT; and the status listener.
 */
export async function startGateway(input: GatewayConfigInput, logger: Logger): Promise<RunningGateway> {
  const config = gatewayConfigSchema.parse(input);
  const log = logger.child({ site: config.site, gateway: config.gateway });
  // Before anything is opened: two gateways on one folder would interleave their journals.
  const folderLock = lockDataFolder(config.dataDir, `gateway ${config.site}/${config.gateway}`);
  const metrics = createGatewayMetrics();
  const address = { site: config.site, gateway: config.gateway };

  const telemetryJournal = openJournal(config, 'telemetry', log, metrics);
  const eventJournal = openJournal(config, 'events', log, metrics);
  const telemetry = new JournalPublisher(telemetryJournal, {
    topic: topics.telemetry(address),
    replayTopic: topics.replay(address),
    maxBatchItems: config.uplink.maxBatchReadings,
    maxInFlight: config.uplink.maxInFlightBatches,
    buildPayload: telemetryPayload,
    onAcknowledged: (items, historical) => {
      metrics.batchesPublished.inc();
      metrics.readingsPublished.inc(items);
      if (historical) metrics.historicalPublished.inc(items);
    },
  });
  const events = new JournalPublisher(eventJournal, {
    topic: topics.events(address),
    maxBatchItems: 100,
    // Door alarms carry pictures: a batch stays well under the cloud's 8 MiB per message.
    maxBatchBytes: EVENT_BATCH_MAX_BYTES,
    maxInFlight: 4,
    buildPayload: eventBatchPayload,
    onAcknowledged: (items) => metrics.eventsPublished.inc(items),
  });
  const backlog = telemetryJournal.stats().items;
  if (backlog > 0) log.info({ readings: backlog }, 'journal holds readings from before the restart; they will be delivered as historical');

  const sink: DriverContext['sink'] = {
    // The journal comes first: nothing a device produced exists anywhere else until it is written there.
    readings: (readings: Reading[]) => {
      // One entry is published whole: a device with more points than a batch takes several entries.
      const max = config.uplink.maxBatchReadings;
      for (let i = 0; i < readings.length; i += max) {
        const chunk = readings.length <= max ? readings : readings.slice(i, i + max);
        telemetryJournal.append(Buffer.from(serializeReadings(chunk)), chunk.length);
      }
    },
    // Every event passes the video linkage first, which journals it at once and again with pictures.
    event: (event: DeviceEvent) => linkage.event(event),
  };
  const { drivers, counterMetrics, close: closeConnections } = createDrivers(config, { logger: log, metrics, sink });
  const cameras = new Map(drivers.filter(isCameraDriver).map((d) => [d.descriptor.id, d] as const));
  const journalEvent = (event: DeviceEvent) => {
    // A malformed event would be refused by the cloud together with its whole batch: refused here, loudly.
    const checked = deviceEventSchema.safeParse(event);
    if (!checked.success) {
      metrics.eventsRefused.inc({ device: event.device });
      log.error({ device: event.device, type: event.type, eventId: event.id, problems: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'event refused: it does not match the event contract');
      return;
    }
    eventJournal.append(Buffer.from(JSON.stringify(event)), 1);
  };
  const linkage = new VideoLinkage(config.videoLinkage, cameras, journalEvent, log, metrics);
  const driverState = new DriverStateFile(join(resolve(config.dataDir), 'device-state.json'), log);
  driverState.restore(drivers);

  // Bounded disk: over budget, delivered segments kept for resends go first, then the oldest
  // undelivered readings are compacted (counter totals stay exact); events are never compacted.
  const compaction = compactReadings({
    intervalMs: config.journal.compactionIntervalMs,
    maxReadingsPerEntry: config.uplink.maxBatchReadings,
    // A device no longer configured may still have readings waiting: treat its metrics as counters,
    // which keeps them nearly whole rather than averaging what may be an energy register.
    isCounter: (device, metric) => counterMetrics.get(device)?.has(metric) ?? true,
  });
  let overBudgetLogged = 0;
  const enforceBudget = () => {
    const budget = config.journal.maxBytes;
    for (const [stream, journal, publisher] of [['telemetry', telemetryJournal, telemetry], ['events', eventJournal, events]] as const) {
      if (journal.diskBytes() <= budget) {
        publisher.overBudget = false;
        metrics.journalOverBudget.set({ stream }, 0);
        continue;
      }
      journal.dropRetained();
      if (stream === 'telemetry') {
        while (journal.diskBytes() > budget) {
          const saved = journal.compactOldest(compaction);
          if (saved <= 0) break;
          metrics.journalCompactedBytes.inc(saved);
        }
      }
      const over = journal.diskBytes() > budget;
      publisher.overBudget = over;
      metrics.journalOverBudget.set({ stream }, over ? 1 : 0);
      if (over && Date.now() - overBudgetLogged > 60_000) {
        overBudgetLogged = Date.now();
        log.error({ stream, bytes: journal.diskBytes(), budget }, stream === 'events' ? 'events alone exceed the journal budget: keeping every one of them, the disk will fill' : 'journal over its budget even after compaction');
      }
    }
  };
  const journalsDurable = async () => {
    await telemetryJournal.makeDurable();
    await eventJournal.makeDurable();
  };
  const saveDriverState = () =>
    driverState.save(drivers, journalsDurable).catch((err: Error) => log.error({ err: err.message }, 'device state not saved; it is saved again in 5 s'));
  const budgetTimer = setInterval(() => {
    enforceBudget();
    void saveDriverState();
  }, 5000);

  const uplink = new MqttUplink({
    address,
    url: config.mqtt.url,
    username: config.mqtt.username,
    password: config.mqtt.password,
    clientId: config.mqtt.clientId ?? `gh-${config.site}-${config.gateway}`,
    keepaliveSeconds: config.mqtt.keepaliveSeconds,
    tls: tlsOptions(config),
    statePeriodMs: config.uplink.statePeriodMs,
    devices: drivers.map((d) => d.descriptor),
    version: GATEWAY_VERSION,
    logger: log,
    metrics,
    telemetry,
    events,
    commands: new CommandLedger(join(resolve(config.dataDir), 'commands-taken.json'), join(resolve(config.dataDir), 'command-audit.jsonl'), log),
    onCommand: (name, command) => executeCommand(name, command),
  });

  /** Commands from the cloud: open or close a door, take a snapshot, resend journal entries it found missing, or republish the birth. */
  const executeCommand = async (name: string, command: Command): Promise<Pick<CommandResult, 'status' | 'detail' | 'data'>> => {
    if (name === 'rebirth') {
      uplink.publishState();
      return { status: 'ok' };
    }
    if (name === 'door') return executeDoorCommand(command);
    if (name === 'snapshot') return executeSnapshotCommand(command, { device: (id) => drivers.find((d) => d.descriptor.id === id), logger: log });
    if (name !== 'resend') return { status: 'rejected', detail: `unknown command ${name}` };
    const args = resendArgsSchema.safeParse(command.args);
    if (!args.success) return { status: 'rejected', detail: `bad arguments: ${args.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    const { stream, from, to } = args.data;
    const journal = stream === 'telemetry' ? telemetryJournal : eventJournal;
    const build = stream === 'telemetry' ? telemetryPayload : eventBatchPayload;
    const topic = stream === 'telemetry' ? topics.replay(address) : topics.events(address);
    const entries = journal.readRange(from, to);
    // What the journal no longer holds is said plainly, so that the cloud stops asking for it.
    const unavailable: [number, number][] = [];
    let next = from;
    for (const e of entries) {
      if (e.firstSeq > next) unavailable.push([next, Math.min(e.firstSeq - 1, to)]);
      next = Math.max(next, e.seq + 1);
    }
    if (next <= to) unavailable.push([next, to]);
    const skipped = overlaps(unavailable, journal.skippedRanges());
    const data = { stream, unavailable, ...(skipped.length > 0 ? { skipped } : {}) };
    if (entries.length === 0) return { status: 'failed', detail: `${stream} entries ${from}-${to} are no longer in the journal`, data };
    let batch: typeof entries = [];
    let items = 0;
    let bytes = 0;
    const send = async () => {
      if (batch.length === 0) return;
      await uplink.publish(topic, build({ seq: batch[0]!.firstSeq, lastSeq: batch[batch.length - 1]!.seq, sentAt: Date.now(), historical: true }, batch.map((e) => e.payload)));
      batch = [];
      items = 0;
      bytes = 0;
    };
    for (const e of entries) {
      const contiguous = batch.length === 0 || e.firstSeq === batch[batch.length - 1]!.seq + 1;
      if (!contiguous || items + e.count > config.uplink.maxBatchReadings || bytes + e.payload.length > EVENT_BATCH_MAX_BYTES) await send();
      batch.push(e);
      items += e.count;
      bytes += e.payload.length;
    }
    await send();
    log.info({ stream, from, to, resent: entries.length, unavailable }, 'resent journal entries on request');
    return { status: 'ok', detail: `resent ${entries.length} entries${unavailable.length > 0 ? `; ${unavailable.length} ranges no longer in the journal` : ''}`, data };
  };

  const executeDoorCommand = async (command: Command): Promise<Pick<CommandResult, 'status' | 'detail' | 'data'>> => {
    const args = doorCommandArgsSchema.safeParse(command.args);
    if (!args.success) return { status: 'rejected', detail: `bad arguments: ${args.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')}` };
    const { device, action, durationMs } = args.data;
    const driver = drivers.find((d) => d.descriptor.id === device);
    if (!driver) return { status: 'rejected', detail: `no device ${device} on this gateway` };
    if (!isAccessControlDriver(driver)) return { status: 'rejected', detail: `device ${device} controls no doors` };
    const doors = driver.doors();
    const door = args.data.door ?? (doors.length === 1 ? doors[0]! : undefined);
    if (door === undefined) return { status: 'rejected', detail: `device ${device} controls doors ${doors.join(', ')}: say which` };
    if (!doors.includes(door)) return { status: 'rejected', detail: `device ${device} has no door "${door}" (it has ${doors.join(', ')})` };
    const outcome = await driver.executeDoorCommand({ door, action, ...(durationMs !== undefined ? { durationMs } : {}) });
    log.info({ device, door, action, id: command.id, issuedBy: command.issuedBy, ok: outcome.ok, detail: outcome.detail }, 'door command executed');
    return { status: outcome.ok ? 'ok' : 'failed', detail: outcome.detail, data: { device, door, action, ...(outcome.doorState ? { doorState: outcome.doorState } : {}) } };
  };

  const updateBacklogMetrics = () => {
    for (const [stream, publisher] of [['telemetry', telemetry], ['events', events]] as const) {
      const s = publisher.state();
      metrics.backlogItems.set({ stream }, s.backlogItems);
      metrics.backlogAgeSeconds.set({ stream }, s.oldestPendingTs === null ? 0 : (Date.now() - s.oldestPendingTs) / 1000);
      metrics.backlogDrainRate.set({ stream }, s.drainPerSecond);
      metrics.journalBytes.set({ stream }, s.bytes);
    }
  };

  let status: StatusServer | undefined;
  try {
    status = await startStatusServer({
      host: config.http.host,
      port: config.http.port,
      registry: metrics.registry,
      beforeScrape: updateBacklogMetrics,
      health: () => ({ status: 'ok', site: config.site, gateway: config.gateway, connected: uplink.connected, devices: drivers.length, streams: { telemetry: telemetry.state(), events: events.state() } }),
    });
  } catch (err) {
    clearInterval(budgetTimer);
    await closeConnections();
    await telemetryJournal.close();
    await eventJournal.close();
    folderLock.release();
    throw err;
  }

  uplink.start();
  for (const driver of drivers) driver.start();
  log.info({ devices: drivers.length, httpPort: status.port }, 'gateway started');

  return {
    site: config.site,
    gateway: config.gateway,
    httpPort: status.port,
    metrics,
    backlog: () => telemetryJournal.stats().items,
    enforceJournalBudget: enforceBudget,
    journalBytes: () => telemetryJournal.diskBytes(),
    async stop() {
      clearInterval(budgetTimer);
      // Pictures in flight (a second at most) are still journaled with their alarm; then the devices stop.
      await linkage.stop();
      await Promise.all(drivers.map((d) => d.stop()));
      // A save already under way holds the state from before the stop: the second saves it as it is now.
      await saveDriverState();
      await saveDriverState();
      await journalsDurable();
      // Give what was read before the stop a short chance to reach the broker; the rest stays in the
      // journal and is delivered at the next start.
      const deadline = Date.now() + STOP_DRAIN_TIMEOUT_MS;
      while ((telemetryJournal.stats().items > 0 || eventJournal.stats().items > 0) && uplink.connected && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const left = telemetryJournal.stats().items;
      if (left > 0) log.warn({ readings: left }, 'gateway stopped with readings not yet delivered; they stay in the journal');
      await uplink.stop();
      await closeConnections();
      await telemetryJournal.close();
      await eventJournal.close();
      await status?.close();
      folderLock.release();
      log.info('gateway stopped');
    },
  };
}
