import { afterEach, describe, expect, it } from 'vitest';
import { createCloudMetrics, GapDetector } from '@gatehouse/cloud';
import { silentLogger, storedReadings } from '../support/site-under-test.js';
import { drainAndCollect, expectStoredExactlyAsServed, startSiteUnderTest, storedCount, type SiteUnderTest } from '../support/site-under-test.js';
import { waitFor } from '../support/wait-for.js';

async function historicalBatches(site: SiteUnderTest, siteId: string): Promise<number> {
  const rows = await site.cloud.db.query<{ n: number }>("SELECT count(*)::int AS n FROM received_batches WHERE site = $1 AND stream = 'telemetry' AND historical", [siteId]);
  return rows[0]?.n ?? 0;
}

describe('nothing lost through outages (in process: simulated meters → gateway → proxy → aedes → cloud → PGlite)', () => {
  let site: SiteUnderTest | undefined;
  afterEach(() => site?.stop());

  it('keeps polling into the journal while the broker is unreachable, then delivers the backlog as historical', async () => {
    const SITE = 'outage-refuse';
    site = await startSiteUnderTest({ site: SITE, storage: { kind: 'pglite' }, meters: 2, pollIntervalMs: 100, proxy: true });
    const s = site;
    await waitFor('first readings stored', async () => (await storedCount(s.cloud, SITE)) > 0);
    s.proxy!.cut('refuse');
    await waitFor('a backlog to build up', () => s.gateway.backlog() >= 2 * 15 * 10);
    s.proxy!.heal();
    await waitFor('the backlog to drain', () => s.gateway.backlog() === 0, 30_000);
    expect(await historicalBatches(s, SITE)).toBeGreaterThan(0);
    expectStoredExactlyAsServed(await drainAndCollect(s, SITE));
  });

  it('detects a silent partition by keepalive and recovers every reading', async () => {
    const SITE = 'outage-blackhole';
    site = await startSiteUnderTest({ site: SITE, storage: { kind: 'pglite' }, meters: 1, pollIntervalMs: 200, proxy: true, keepaliveSeconds: 5 });
    const s = site;
    await waitFor('first readings stored', async () => (await storedCount(s.cloud, SITE)) > 0);
    s.proxy!.cut('blackhole');
    await new Promise((resolve) => setTimeout(resolve, 9000));
    expect(s.gateway.backlog()).toBeGreaterThan(0);
    s.proxy!.heal();
    await waitFor('the backlog to drain', () => s.gateway.backlog() === 0, 30_000);
    expectStoredExactlyAsServed(await drainAndCollect(s, SITE));
  }, 60_000);

  it('delivers, after a restart, what a gateway stopped with while the broker was away', async () => {
    const SITE = 'outage-restart';
    site = await startSiteUnderTest({ site: SITE, storage: { kind: 'pglite' }, meters: 2, pollIntervalMs: 100, proxy: true });
    const s = site;
    await waitFor('first readings stored', async () => (await storedCount(s.cloud, SITE)) > 0);
    s.proxy!.cut('refuse');
    await waitFor('a backlog to build up', () => s.gateway.backlog() >= 300);
    await s.restartGateway();
    expect(s.gateway.backlog()).toBeGreaterThanOrEqual(300);
    s.proxy!.heal();
    await waitFor('the backlog to drain', () => s.gateway.backlog() === 0, 30_000);
    expect(await historicalBatches(s, SITE)).toBeGreaterThan(0);
    expectStoredExactlyAsServed(await drainAndCollect(s, SITE));
  });

  it('over its disk budget, compacts the backlog so that energy totals stay exact and no range goes missing', async () => {
    const SITE = 'outage-budget';
    site = await startSiteUnderTest({
      site: SITE,
      storage: { kind: 'pglite' },
      meters: 2,
      pollIntervalMs: 100,
      proxy: true,
      journal: { segmentBytes: 64 * 1024, maxBytes: 192 * 1024, compactionIntervalMs: 1000, retainDeliveredBytes: 0 },
    });
    const s = site;
    await waitFor('first readings stored', async () => (await storedCount(s.cloud, SITE)) > 0);
    s.proxy!.cut('refuse');
    await waitFor('the journal to outgrow its budget', () => s.gateway.journalBytes() > 256 * 1024, 40_000);
    s.gateway.enforceJournalBudget();
    expect(s.gateway.journalBytes()).toBeLessThanOrEqual(256 * 1024);
    const compacted = (await s.gateway.metrics.journalCompactedBytes.get()).values[0]?.value ?? 0;
    expect(compacted).toBeGreaterThan(0);
    s.proxy!.heal();
    await waitFor('the backlog to drain', () => s.gateway.backlog() === 0, 30_000);
    await s.gateway.stop();
    const gaps = new GapDetector({ db: s.cloud.db, publish: async () => undefined, logger: silentLogger, metrics: createCloudMetrics(), checkEveryMs: 1000, graceMs: 0, resendEveryMs: 1000 });
    await waitFor('every delivered range stored', async () => (await gaps.missing()).length === 0, 20_000);

    const stored = await storedReadings(s.cloud, SITE);
    const servedTotal = s.served.reduce((n, r) => n + Object.keys(r.values).length, 0);
    expect(stored.length).toBeLessThan(servedTotal);
    expect(stored.some((r) => r.metric === 'active_power')).toBe(true);
    for (const device of ['meter-1', 'meter-2']) {
      const served = s.served.filter((r) => r.device === device && r.values.import_energy !== undefined).map((r) => r.values.import_energy!);
      const energy = stored.filter((r) => r.device === device && r.metric === 'import_energy' && r.quality === 'good').map((r) => r.value!);
      // Every kWh the meter counted is there: the first and last values, and so the consumption, are exact.
      expect(energy[0]).toBe(served[0]);
      expect(energy.at(-1)).toBe(served.at(-1));
      expect(energy).toEqual([...energy].sort((a, b) => a - b));
    }
  }, 90_000);

  it('notices a meter swapped while the gateway was down: no false consumption across the restart', async () => {
    const SITE = 'restart-meter-swap';
    site = await startSiteUnderTest({ site: SITE, storage: { kind: 'pglite' }, meters: 1, pollIntervalMs: 100 });
    const s = site;
    await waitFor('a few energy readings', async () => (await storedCount(s.cloud, SITE)) >= 15 * 5);
    await s.restartGateway(() => s.sim.meter('meter-1').inject({ kind: 'counter_reset' }));
    await waitFor('readings after the restart', async () => (await storedReadings(s.cloud, SITE)).filter((r) => r.metric === 'import_energy').length >= 12);
    await s.gateway.stop();
    const energy = (await storedReadings(s.cloud, SITE)).filter((r) => r.metric === 'import_energy');
    const firstLow = energy.findIndex((r) => (r.value ?? 0) < 1);
    expect(firstLow).toBeGreaterThan(0);
    // The first reading after the swap is not trusted, the next confirms the new level.
    expect(energy[firstLow]?.quality).toBe('counter_negative_step');
    expect(energy[firstLow + 1]?.quality).toBe('counter_reset');
    expect(energy.slice(firstLow + 2).every((r) => r.quality === 'good')).toBe(true);
  });
});
