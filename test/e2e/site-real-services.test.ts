import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@gatehouse/contracts';
import { cleanBroker, createTestDatabase, createTestInfluxDatabase, createTimescaleTestDatabase, REAL_MQTT_URL, requireBroker, uniqueName } from '../support/real-services.js';
import { cloudFetch } from '../support/api-access.js';
import { drainAndCollect, expectStoredExactlyAsServed, startSiteUnderTest, storedCount, type SiteUnderTest } from '../support/site-under-test.js';
import { waitFor } from '../support/wait-for.js';

const SITE = uniqueName('e2e-real').replaceAll('_', '-');
const CLOUD_CLIENT_ID = `gh-cloud-${SITE}`;

describe("end to end on the machine's services: simulated meters → gateway → Mosquitto → cloud → PostgreSQL", () => {
  let site: SiteUnderTest;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    await requireBroker();
    database = await createTestDatabase('gh_e2e');
    site = await startSiteUnderTest({
      site: SITE,
      storage: { kind: 'postgres', connectionString: database.url },
      mqttUrl: REAL_MQTT_URL,
      cloudClientId: CLOUD_CLIENT_ID,
      meters: 2,
      pollIntervalMs: 200,
    });
  });

  afterAll(async () => {
    await site?.stop();
    await cleanBroker(REAL_MQTT_URL, [topics.state({ site: SITE, gateway: 'gw-01' })], [CLOUD_CLIENT_ID, `${CLOUD_CLIENT_ID}-replay`]);
    await database?.drop();
  });

  it('stores every reading the meters served, with exactly the values they served', async () => {
    await waitFor('readings of 8 polls to be stored', async () => (await storedCount(site.cloud, SITE)) >= 2 * 15 * 8);
    const result = await drainAndCollect(site, SITE);
    expectStoredExactlyAsServed(result);
    expect(result.storedCount).toBe(result.published);
    expect(result.stored.size).toBe(2 * 15);

    const [gateway] = await site.cloud.db.query<{ status: string; last_seq: number }>('SELECT status, last_seq FROM gateways WHERE site = $1', [SITE]);
    expect(gateway?.last_seq).toBeGreaterThan(0);
  });
});

describe("end to end on TimescaleDB: readings in the hypertable, exactly as served", () => {
  const site3 = uniqueName('e2e-tsdb').replaceAll('_', '-');
  const clientId = `gh-cloud-${site3}`;
  let site: SiteUnderTest;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    await requireBroker();
    database = await createTimescaleTestDatabase('gh_e2e_tsdb');
    site = await startSiteUnderTest({
      site: site3,
      storage: { kind: 'postgres', connectionString: database.url, timescale: { use: 'require', chunkDays: 7, compressAfterDays: 7 } },
      mqttUrl: REAL_MQTT_URL,
      cloudClientId: clientId,
      meters: 2,
      pollIntervalMs: 200,
    });
  });

  afterAll(async () => {
    await site?.stop();
    await cleanBroker(REAL_MQTT_URL, [topics.state({ site: site3, gateway: 'gw-01' })], [clientId, `${clientId}-replay`]);
    await database?.drop();
  });

  it('stores every reading the meters served in the hypertable, with exactly the values they served', async () => {
    expect(site.cloud.timeSeries.backend).toBe('timescaledb');
    await waitFor('readings of 8 polls to be stored', async () => (await storedCount(site.cloud, site3)) >= 2 * 15 * 8);
    const result = await drainAndCollect(site, site3);
    expectStoredExactlyAsServed(result);
    expect(result.storedCount).toBe(result.published);
    const [chunks] = await site.cloud.db.query<{ n: number }>("SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'");
    expect(chunks!.n).toBeGreaterThanOrEqual(1);
  });
});

describe('end to end into InfluxDB, over two shared-subscription ingest connections, rolled up', () => {
  const site2 = uniqueName('e2e-influx').replaceAll('_', '-');
  const clientId = `gh-cloud-${site2}`;
  let site: SiteUnderTest;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let influx: Awaited<ReturnType<typeof createTestInfluxDatabase>>;

  beforeAll(async () => {
    await requireBroker();
    database = await createTestDatabase('gh_e2e');
    influx = await createTestInfluxDatabase('gh_e2e');
    site = await startSiteUnderTest({
      site: site2,
      storage: { kind: 'postgres', connectionString: database.url },
      timeSeries: { kind: 'influxdb', url: influx.url, database: influx.database },
      mqttUrl: REAL_MQTT_URL,
      cloudClientId: clientId,
      ingestConnections: 2,
      meters: 2,
      pollIntervalMs: 200,
    });
  });

  afterAll(async () => {
    await site?.stop();
    await cleanBroker(REAL_MQTT_URL, [topics.state({ site: site2, gateway: 'gw-01' })], [clientId, `${clientId}-2`, `${clientId}-replay`, `${clientId}-replay-2`]);
    await database?.drop();
    await influx?.drop();
  });

  it('stores every reading exactly, and the daily energy is the meters’ own count', async () => {
    expect(site.cloud.timeSeries.backend).toBe('influxdb');
    await waitFor('readings of 8 polls to be stored', async () => (await storedCount(site.cloud, site2)) >= 2 * 15 * 8);
    const result = await drainAndCollect(site, site2);
    expectStoredExactlyAsServed(result);

    await site.cloud.timeSeries.refreshRollups();
    const get = (path: string) => cloudFetch(site.cloud, `/api/v1${path}`);
    const body = (await (await get(`/sites/${site2}/rollups?metric=import_energy&level=1d&from=${Date.now() - 3 * 86_400_000}`)).json()) as {
      devices: { device: string; kind: string; buckets: { consumption: number; count: number }[] }[];
    };
    expect(body.devices).toHaveLength(2);
    for (const device of body.devices) {
      const served = result.served.get(`${device.device}/import_energy`)!;
      expect(device.kind).toBe('counter');
      expect(device.buckets.reduce((n, b) => n + b.count, 0)).toBe(served.length);
      // Every reading was good: the energy used is the last count minus the first.
      expect(device.buckets.reduce((n, b) => n + b.consumption, 0)).toBeCloseTo(served[served.length - 1]! - served[0]!, 6);
    }
  });
});
