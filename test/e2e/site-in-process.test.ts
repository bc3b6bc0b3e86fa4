import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainAndCollect, expectStoredExactlyAsServed, startSiteUnderTest, storedCount, type SiteUnderTest } from '../support/site-under-test.js';
import { cloudFetch } from '../support/api-access.js';
import { waitFor } from '../support/wait-for.js';

const SITE = 'e2e-embedded';

describe('end to end on the embedded stack: simulated meters → gateway → aedes → cloud → PGlite', () => {
  let site: SiteUnderTest;

  beforeAll(async () => {
    site = await startSiteUnderTest({ site: SITE, storage: { kind: 'pglite' }, meters: 3, pollIntervalMs: 200 });
  });

  afterAll(() => site?.stop());

  it('stores every reading the meters served, with exactly the values they served', async () => {
    // 3 meters × 15 points, about 5 polls a second: wait for at least 8 polls of each.
    await waitFor('readings of 8 polls to be stored', async () => (await storedCount(site.cloud, SITE)) >= 3 * 15 * 8);
    const result = await drainAndCollect(site, SITE);
    expectStoredExactlyAsServed(result);
    expect(result.storedCount).toBe(result.published);
    expect(result.stored.size).toBe(3 * 15);
  });

  it('shows the gateway, its devices and their readings in the API', async () => {
    const get = (path: string) => cloudFetch(site.cloud, `/api/v1${path}`);
    const devices = (await (await get(`/devices?site=${SITE}`)).json()) as { devices: { id: string; profile: string; lastSeen: number }[] };
    expect(devices.devices.map((d) => [d.id, d.profile])).toEqual([
      ['meter-1', 'eastron-sdm630'],
      ['meter-2', 'eastron-sdm630'],
      ['meter-3', 'eastron-sdm630'],
    ]);
    // The gateway stopped cleanly above: its retained death message marks it offline.
    await waitFor('the gateway to be reported offline', async () => {
      const gateways = (await (await get(`/gateways?site=${SITE}`)).json()) as { gateways: { status: string }[] };
      return gateways.gateways[0]?.status === 'offline';
    });
    const series = (await (await get(`/series?site=${SITE}&device=meter-2&metric=import_energy&from=0&step=raw`)).json()) as { unit: string; points: { value: number }[] };
    expect(series.unit).toBe('kWh');
    expect(series.points.length).toBeGreaterThanOrEqual(8);
    // The energy register only grows.
    const values = series.points.map((p) => p.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
  });
});
