import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '@gatehouse/contracts';
import { createPostgresClient, migrate, openTimeSeriesStore, SiteRegistry, type SqlClient, type TimeSeriesStore } from '@gatehouse/cloud';
import { RollupFieldCache } from '../../src/storage/rollups/rollup-field-cache.js';
import { createTestDatabase } from '../../../test/support/real-services.js';

const SITE = 'cache-site';
const DAY = 86_400_000;
const HOUR = 3_600_000;
// Midnight in Shanghai, 20 days before the clock the cache is given.
const START = Date.UTC(2026, 9, 31, 16);
const NOW = START + 20 * DAY;

const power = (device: string, ts: number, value: number): Reading => ({ device, metric: 'active_power', unit: 'kW', ts, value, quality: 'good' });

/** Hourly power of `meters` meters over `days` days: meter m draws 10 + m kW all along. */
function readings(meters: number, days: number): Reading[] {
  const out: Reading[] = [];
  for (let h = 0; h < days * 24; h++) for (let m = 0; m < meters; m++) out.push(power(`m${m}`, START + h * HOUR, 10 + m));
  return out;
}

describe('RollupFieldCache (two cloud instances on one PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dbA: SqlClient;
  let dbB: SqlClient;
  let storeA: TimeSeriesStore;
  let storeB: TimeSeriesStore;
  let reads: { from: number; to: number; series: number }[];
  let cache: RollupFieldCache;

  beforeAll(async () => {
    database = await createTestDatabase('gh_field_cache');
    dbA = createPostgresClient({ connectionString: database.url });
    dbB = createPostgresClient({ connectionString: database.url });
    await migrate(dbA);
    await new SiteRegistry(dbA).declareSite({ id: SITE, timeZone: 'Asia/Shanghai' });
    storeA = await openTimeSeriesStore(dbA);
    storeB = await openTimeSeriesStore(dbB);
    await storeA.write({ site: SITE, gateway: 'gw' }, readings(3, 20));
    await storeA.refreshRollups();
    reads = [];
    // What reaches the store, to tell a kept answer from a fresh one.
    const counted: Pick<TimeSeriesStore, 'readRollupField' | 'rollupChangesSince'> = {
      readRollupField: (level, field, series, from, to) => {
        reads.push({ from, to, series: series.length });
        return storeA.readRollupField(level, field, series, from, to);
      },
      rollupChangesSince: (after) => storeA.rollupChangesSince(after),
    };
    cache = new RollupFieldCache(counted, () => NOW);
  });
  afterAll(async () => {
    await dbA?.close();
    await dbB?.close();
    await database?.drop();
  });

  const daily = async () => {
    const series = await storeA.seriesOfSite(SITE, 'active_power');
    return { series, table: await cache.read('1d', 'max', series, START, NOW) };
  };

  it('answers exactly what the store answers, keeping the settled days and reading the newest each time', async () => {
    const { series, table } = await daily();
    expect(table).toEqual(await storeA.readRollupField('1d', 'max', series, START, NOW));
    expect(table.get(series[0]!.id)!.values).toEqual(Array.from({ length: 20 }, () => 10));
    const first = reads.length;
    expect((await daily()).table).toEqual(table);
    // Second time: only the last two days, for every meter.
    expect(reads.slice(first)).toEqual([{ from: NOW - 2 * DAY, to: NOW, series: 3 }]);
  });

  it('shows a late reading in a settled day at once, also when another instance stored and rolled it up', async () => {
    const { series } = await daily();
    // A peak of meter m1 on day 3, buffered at its gateway, arrives late through the other instance.
    await storeB.write({ site: SITE, gateway: 'gw' }, [power('m1', START + 3 * DAY + 12 * HOUR + 30 * 60_000, 500)]);
    await storeB.refreshRollups();
    const before = reads.length;
    const { table } = await daily();
    expect(table).toEqual(await storeA.readRollupField('1d', 'max', series, START, NOW));
    const m1 = series.find((s) => s.device === 'm1')!;
    expect(table.get(m1.id)!.values).toEqual(Array.from({ length: 20 }, (_, d) => (d === 3 ? 500 : 11)));
    // Only the meter that changed was read again (and, as every time, the newest days of all).
    expect(reads.slice(before)).toEqual([
      { from: START, to: NOW - 2 * DAY, series: 1 },
      { from: NOW - 2 * DAY, to: NOW, series: 3 },
    ]);
  });
});
