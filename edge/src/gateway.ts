import type { Reading } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import { gatewayConfigSchema, type GatewayConfigInput } from './config.js';
import type { DeviceDriver, DriverContext } from './drivers/driver.js';
import { createDrivers } from './drivers/driver-registry.js';
import { createGatewayMetrics, type GatewayMetrics } from './status/metrics.js';
import { startStatusServer, type StatusServer } from './status/status-server.js';
import { MqttUplink } from './uplink/mqtt-uplink.js';
import { TelemetryOutbox } from './uplink/telemetry-outbox.js';
import { GATEWAY_VERSION } from './version.js';

export interface RunningGateway {
  site: string;
  gateway: string;
  /** port of the /metrics and /health listener */
  httpPort: number;
  metrics: GatewayMetrics;
  /** readings not yet acknowledged by the broker */
  backlog(): number;
  stop(): Promise<void>;
}

const STOP_FLUSH_TIMEOUT_MS = 3000;

/** Starts a gateway: its device drivers, the outbox and the MQTT uplink, and the status listener. */
export async function startGateway(input: GatewayConfigInput, logger: Logger): Promise<RunningGateway> {
  const config = gatewayConfigSchema.parse(input);
  const log = logger.child({ site: config.site, gateway: config.gateway });
  const metrics = createGatewayMetrics();
  const outbox = new TelemetryOutbox({
    maxBatchReadings: config.uplink.maxBatchReadings,
    maxQueuedReadings: config.uplink.maxQueuedReadings,
    firstSeq: 0,
    onDrop: (count) => {
      metrics.readingsDropped.inc(count);
      log.error({ dropped: count }, 'uplink queue full: oldest readings dropped');
    },
  });

  const sink: DriverContext['sink'] = {
    readings: (readings: Reading[]) => {
      outbox.add(readings);
      metrics.uplinkQueue.set(outbox.size);
    },
    event: () => {
      // Event delivery arrives with the access-control drivers.
    },
  };
  const { drivers, close: closeConnections } = createDrivers(config, { logger: log, metrics, sink });

  const uplink = new MqttUplink(
    {
      address: { site: config.site, gateway: config.gateway },
      url: config.mqtt.url,
      username: config.mqtt.username,
      password: config.mqtt.password,
      clientId: config.mqtt.clientId ?? `gh-${config.site}-${config.gateway}`,
      keepaliveSeconds: config.mqtt.keepaliveSeconds,
      maxInFlightBatches: config.uplink.maxInFlightBatches,
      devices: drivers.map((d) => d.descriptor),
      version: GATEWAY_VERSION,
      logger: log,
      metrics,
    },
    outbox,
  );

  let status: StatusServer | undefined;
  try {
    status = await startStatusServer({
      host: config.http.host,
      port: config.http.port,
      registry: metrics.registry,
      health: () => ({ status: 'ok', site: config.site, gateway: config.gateway, connected: uplink.connected, backlog: outbox.size, nextSeq: outbox.nextSeq, devices: drivers.length }),
    });
  } catch (err) {
    await closeConnections();
    throw err;
  }

  uplink.start();
  const batcher = setInterval(() => {
    if (outbox.cut() > 0) uplink.pump();
  }, config.uplink.batchIntervalMs);
  for (const driver of drivers) driver.start();
  log.info({ devices: drivers.length, httpPort: status.port }, 'gateway started');

  return {
    site: config.site,
    gateway: config.gateway,
    httpPort: status.port,
    metrics,
    backlog: () => outbox.size,
    async stop() {
      await Promise.all(drivers.map((d: DeviceDriver) => d.stop()));
      clearInterval(batcher);
      // Give what was read before the stop a short chance to reach the broker.
      outbox.cut();
      uplink.pump();
      const deadline = Date.now() + STOP_FLUSH_TIMEOUT_MS;
      while (outbox.size > 0 && uplink.connected && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (outbox.size > 0) log.warn({ unsent: outbox.size }, 'gateway stopped with readings the broker had not acknowledged');
      await uplink.stop();
      await closeConnections();
      await status?.close();
      log.info('gateway stopped');
    },
  };
}
