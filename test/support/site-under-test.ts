import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import { startCloud, type CloudConfigInput, type RunningCloud } from '@gatehouse/cloud';
import { startGateway, type GatewayConfigInput, type RunningGateway } from '@gatehouse/edge';
import { TcpProxy } from './tcp-proxy.js';
import { startSimulatedSite, type ServedRead, type SimulatedSite } from '@gatehouse/firmware-sim';
import { waitFor } from './wait-for.js';

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface SiteUnderTestOptions {
  site: string;
  storage: CloudConfigInput['storage'];
  /** external broker; omitted: the cloud runs an embedded one on a free port */
  mqttUrl?: string;
  cloudClientId?: string;
  meters: number;
  pollIntervalMs: number;
  /** put a TCP proxy between the gateway and the broker, to cut the link */
  proxy?: boolean;
  /** MQTT keepalive of the gateway, s */
  keepaliveSeconds?: number;
  /** journal settings of the gateway */
  journal?: GatewayConfigInput['journal'];
  /** keep readings in InfluxDB instead of the relational database */
  timeSeries?: CloudConfigInput['timeSeries'];
  /** with an external broker: ingest over this many MQTT 5 shared-subscription connections per stream */
  ingestConnections?: number;
}

export interface SiteUnderTest {
  sim: SimulatedSite;
  cloud: RunningCloud;
  gateway: RunningGateway;
  /** every read the simulated meters answered, in order */
  served: ServedRead[];
  /** unit id → device id */
  deviceOfUnit: Map<number, string>;
  proxy: TcpProxy | undefined;
  /** stops the gateway (cleanly) and starts a new one on the same journal; `meanwhile` runs in between */
  restartGateway(meanwhile?: () => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** Simulated meters → gateway → broker → cloud, all in this process on free ports. */
export async function startSiteUnderTest(options: SiteUnderTestOptions): Promise<SiteUnderTest> {
  const served: ServedRead[] = [];
  const meters = Array.from({ length: options.meters }, (_, i) => ({
    id: `meter-${i + 1}`,
    unitId: i + 1,
    model: 'eastron-sdm630' as const,
    ratedKw: 50 + 10 * i,
    shape: 'office' as const,
    initialImportKwh: 1000 * (i + 1),
  }));
  const sim = await startSimulatedSite({ modbusTcp: [{ port: 0, meters }] }, { logger: silentLogger, onServe: (r) => served.push(r) });
  const cloud = await startCloud(
    {
      http: { host: '127.0.0.1', port: 0 },
      storage: options.storage,
      ...(options.timeSeries ? { timeSeries: options.timeSeries } : {}),
      ...(options.mqttUrl
        ? {
            mqtt: {
              url: options.mqttUrl,
              clientId: options.cloudClientId ?? `gh-cloud-${options.site}`,
              ...(options.ingestConnections ? { sharedGroup: `g-${options.site}`, ingestConnections: options.ingestConnections } : {}),
            },
          }
        : { embeddedBroker: { host: '127.0.0.1', port: 0 } }),
    },
    silentLogger,
  );
  const brokerUrl = options.mqttUrl ?? cloud.brokerUrl!;
  let proxy: TcpProxy | undefined;
  let gatewayBrokerUrl = brokerUrl;
  if (options.proxy) {
    const target = new URL(brokerUrl);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    gatewayBrokerUrl = `mqtt://127.0.0.1:${await proxy.start()}`;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-e2e-edge-'));
  const gatewayConfig = (): GatewayConfigInput => ({
      site: options.site,
      gateway: 'gw-01',
      mqtt: { url: gatewayBrokerUrl, clientId: `gh-${options.site}-gw-01`, keepaliveSeconds: options.keepaliveSeconds ?? 30 },
      dataDir,
      ...(options.journal ? { journal: options.journal } : {}),
      uplink: { maxBatchReadings: 500, maxInFlightBatches: 16, statePeriodMs: 10_000 },
      modbus: { timeoutMs: 1000, reconnectDelayMs: 200, maxGap: 16 }, // the rest from the defaults
      http: { host: '127.0.0.1', port: 0 },
      devices: meters.map((m) => ({
        id: m.id,
        driver: 'modbus+tcp' as const,
        host: '127.0.0.1',
        port: sim.modbusTcp[0]!.port,
        unitId: m.unitId,
        profile: 'eastron-sdm630',
        intervalMs: options.pollIntervalMs,
      })),
    });
  let gateway = await startGateway(gatewayConfig(), silentLogger);
  let stopped = false;
  const site: SiteUnderTest = {
    sim,
    cloud,
    gateway,
    served,
    deviceOfUnit: new Map(meters.map((m) => [m.unitId, m.id])),
    proxy,
    async restartGateway(meanwhile) {
      await gateway.stop();
      await meanwhile?.();
      gateway = await startGateway(gatewayConfig(), silentLogger);
      site.gateway = gateway;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
      await proxy?.stop();
      await sim.stop();
      await cloud.stop();
    },
  };
  return site;
}

export interface StoredReading {
  device: string;
  metric: string;
  ts: number;
  value: number | null;
  quality: string;
}

/** What a test reads stored readings through: the cloud's own store, whichever backend holds them. */
type StoredIn = Pick<RunningCloud, 'db' | 'timeSeries'>;

/** Every stored reading of a site, by device, metric and time, read back through the time-series store. */
export async function storedReadings(cloud: StoredIn, site: string): Promise<StoredReading[]> {
  const series = await cloud.db.query<{ device: string; metric: string }>('SELECT device, metric FROM series WHERE site = $1 ORDER BY device, metric', [site]);
  const out: StoredReading[] = [];
  for (const { device, metric } of series) {
    const ref = await cloud.timeSeries.series(site, device, metric);
    if (!ref) continue;
    const points = await cloud.timeSeries.readRaw(ref, Date.UTC(2000, 0, 1), Date.now() + 86_400_000, 10_000_000);
    for (const p of points) out.push({ device, metric, ts: p.ts, value: p.value, quality: p.quality });
  }
  return out;
}

export async function storedCount(cloud: StoredIn, site: string): Promise<number> {
  return (await storedReadings(cloud, site)).length;
}

async function counterValue(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

/**
 * Stops the gateway (it flushes what it read), waits until the cloud has stored every reading the broker
 * acknowledged, and returns, per device and metric, the values served and the values stored, in order.
 */
export async function drainAndCollect(site: SiteUnderTest, siteId: string): Promise<{ served: Map<string, number[]>; stored: Map<string, (number | null)[]>; published: number; storedCount: number }> {
  await site.gateway.stop();
  const published = await counterValue(site.gateway.metrics.readingsPublished);
  const servedTotal = site.served.reduce((n, r) => n + Object.keys(r.values).length, 0);
  await waitFor(`the cloud to store all ${servedTotal} served readings`, async () => {
    const n = await storedCount(site.cloud, siteId);
    return n === servedTotal || `${n} stored`;
  });
  const served = new Map<string, number[]>();
  for (const read of site.served) {
    const device = read.device;
    for (const [metric, value] of Object.entries(read.values)) {
      const key = `${device}/${metric}`;
      served.set(key, [...(served.get(key) ?? []), value]);
    }
  }
  const stored = new Map<string, (number | null)[]>();
  const rows = await storedReadings(site.cloud, siteId);
  for (const r of rows) {
    const key = `${r.device}/${r.metric}`;
    stored.set(key, [...(stored.get(key) ?? []), r.value]);
  }
  return { served, stored, published, storedCount: rows.length };
}

/** Every value served is stored, equal and in order, and nothing else: the exact end-to-end check. */
export function expectStoredExactlyAsServed(result: Awaited<ReturnType<typeof drainAndCollect>>): void {
  const servedTotal = [...result.served.values()].reduce((n, values) => n + values.length, 0);
  expect(result.storedCount).toBe(servedTotal);
  expect([...result.stored.keys()].sort()).toEqual([...result.served.keys()].sort());
  for (const [key, values] of result.served) expect(result.stored.get(key), key).toEqual(values);
}
