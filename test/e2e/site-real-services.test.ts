import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@gatehouse/contracts';
import { cleanBroker, createTestDatabase, REAL_MQTT_URL, requireBroker, uniqueName } from '../support/real-services.js';
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
    await waitFor('readings of 8 polls to be stored', async () => (await storedCount(site.cloud.db, SITE)) >= 2 * 15 * 8);
    const result = await drainAndCollect(site, SITE);
    expectStoredExactlyAsServed(result);
    expect(result.storedCount).toBe(result.published);
    expect(result.stored.size).toBe(2 * 15);

    const [gateway] = await site.cloud.db.query<{ status: string; last_seq: number }>('SELECT status, last_seq FROM gateways WHERE site = $1', [SITE]);
    expect(gateway?.last_seq).toBeGreaterThan(0);
  });
});
