import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Quality, Reading } from '@gatehouse/contracts';
import { ROLLUP_LEVELS, SiteRegistry, type Bucket, type SeriesRef, type SqlClient, type TimeSeriesStore } from '@gatehouse/cloud';

/** What each backend's test file hands the suite: a fresh store and the relational database beside it. */
export interface StoreUnderTest {
  store: TimeSeriesStore;
  db: SqlClient;
  cleanup(): Promise<void>;
}

const MIN = 60_000;
const QUARTER = 15 * MIN;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const GW = 'gw-01';

let siteCounter = 0;
/** Each test writes to a site of its own, so the tests share one store without seeing each other. */
function newSite(): string {
  return `site-${++siteCounter}`;
}

const counter = (device: string, ts: number, value: number, quality: Quality = 'good'): Reading => ({ device, metric: 'import_energy', unit: 'kWh', kind: 'counter', ts, value, quality });
const gauge = (device: string, ts: number, value: number | null, quality: Quality = 'good'): Reading => ({ device, metric: 'active_power', unit: 'W', ts, value, quality });

/**
 * The behaviour every TimeSeriesStore must have, whatever holds the readings (the MQTT.js / aedes
 * pattern: one abstract suite, called by each backend's test file with its own factory).
 */
export function describeTimeSeriesStore(backend: string, open: () => Promise<StoreUnderTest>): void {
  describe(`TimeSeriesStore conformance: ${backend}`, () => {
    let sut: StoreUnderTest;
    let store: TimeSeriesStore;
    let registry: SiteRegistry;

    beforeAll(async () => {
      sut = await open();
      store = sut.store;
      registry = new SiteRegistry(sut.db);
    });
    afterAll(async () => {
      await sut?.cleanup();
    });

    async function seriesOf(site: string, device: string, metric: string): Promise<SeriesRef> {
      const s = await store.series(site, device, metric);
      if (!s) throw new Error(`no series ${site}/${device}/${metric}`);
      return s;
    }

    async function rollup(level: (typeof ROLLUP_LEVELS)[number], s: SeriesRef, from: number, to: number): Promise<Bucket[]> {
      return (await store.readRollup(level, [s], from, to)).get(s.id) ?? [];
    }

    async function everything(s: SeriesRef, from: number, to: number) {
      return {
        raw: await store.readRaw(s, from, to, 100_000),
        rollups: await Promise.all(ROLLUP_LEVELS.map((level) => rollup(level, s, from - 40 * DAY, to + 40 * DAY))),
      };
    }

    it('stores readings exactly, and writing them again changes nothing', async () => {
      const site = newSite();
      const t0 = Date.UTC(2026, 10, 2, 0, 0, 0);
      const batch = [
        ...Array.from({ length: 96 }, (_, i) => counter('m1', t0 + i * QUARTER, 1000 + i * 0.5)),
        ...Array.from({ length: 96 }, (_, i) => gauge('m1', t0 + i * QUARTER, i % 7 === 0 ? null : 100 + i, i % 7 === 0 ? 'comm_error' : 'good')),
      ];
      const first = await store.write({ site, gateway: GW }, batch);
      expect(first).toEqual({ inserted: batch.length, duplicates: first.duplicates === null ? null : 0 });
      await store.refreshRollups();
      const energy = await seriesOf(site, 'm1', 'import_energy');
      const power = await seriesOf(site, 'm1', 'active_power');
      expect(energy).toMatchObject({ unit: 'kWh', kind: 'counter' });
      expect(power).toMatchObject({ unit: 'W', kind: 'gauge' });
      const before = [await everything(energy, t0, t0 + DAY), await everything(power, t0, t0 + DAY)];
      expect(before[0]!.raw).toEqual(batch.slice(0, 96).map((r) => ({ ts: r.ts, value: r.value, quality: r.quality })));
      expect(before[1]!.raw.filter((p) => p.quality === 'comm_error')).toHaveLength(14);

      const again = await store.write({ site, gateway: GW }, batch);
      // InfluxDB overwrites an identical point without saying so; a backend that can tell must say 0 new.
      if (again.duplicates !== null) expect(again).toEqual({ inserted: 0, duplicates: batch.length });
      await store.refreshRollups();
      expect([await everything(energy, t0, t0 + DAY), await everything(power, t0, t0 + DAY)]).toEqual(before);
    });

    it('stores batches within a month and across a month boundary, and a replay overlapping both keeps each reading once', async () => {
      const site = newSite();
      // The last two days of November (UTC) and the first two of December.
      const t0 = Date.UTC(2026, 10, 29, 0, 0, 0);
      const readings = Array.from({ length: 4 * 96 }, (_, i) => counter('m1', t0 + i * QUARTER, 5000 + i * 0.25));
      const november = readings.slice(0, 2 * 96);
      const straddling = readings.slice(96, 3 * 96);
      expect((await store.write({ site, gateway: GW }, november)).inserted).toBe(november.length);
      // Half of it stored already, half new, on both sides of the boundary; then everything again.
      const replay = await store.write({ site, gateway: GW }, straddling);
      const all = await store.write({ site, gateway: GW }, readings);
      // InfluxDB overwrites an identical point without saying so; a backend that can tell must count exactly.
      if (replay.duplicates !== null) expect(replay).toEqual({ inserted: 96, duplicates: 96 });
      if (all.duplicates !== null) expect(all).toEqual({ inserted: 96, duplicates: 3 * 96 });
      const energy = await seriesOf(site, 'm1', 'import_energy');
      const raw = await store.readRaw(energy, t0, t0 + 4 * DAY, 100_000);
      expect(raw).toEqual(readings.map((r) => ({ ts: r.ts, value: r.value, quality: r.quality })));
      await store.refreshRollups();
      const hours = await rollup('1h', energy, t0, t0 + 4 * DAY);
      expect(hours.reduce((sum, b) => sum + (b.consumption ?? 0), 0)).toBeCloseTo((readings.length - 1) * 0.25, 6);
    });

    it('sums counter steps into consumption, and never counts a reset, a rollover, a glitch or a step back', async () => {
      const site = newSite();
      const t0 = Date.UTC(2026, 10, 3, 0, 0, 0); // 08:00 in Shanghai
      const at = (minutes: number) => t0 + minutes * MIN;
      await store.write({ site, gateway: GW }, [
        counter('m1', at(0), 100),
        counter('m1', at(5), 101), //           +1
        counter('m1', at(10), 103), //          +2
        counter('m1', at(15), 5, 'counter_reset'), // meter replaced: not consumption
        counter('m1', at(20), 6), //            +1
        counter('m1', at(25), 8), //            +2
        counter('m1', at(30), 9999, 'counter_jump'), // glitch: forgotten
        counter('m1', at(35), 9), //            +1 (from 8)
        counter('m1', at(40), 7, 'counter_negative_step'), // not trusted
        counter('m1', at(45), 10), //           +1 (from 9)
        counter('m1', at(50), 99_999, 'counter_rollover'), // wrapped: not consumption
        counter('m1', at(55), 99_999.5), //     +0.5
        counter('m1', at(60), null as unknown as number, 'comm_error'),
        counter('m1', at(75), 100_001.5), //    +2 (into 01:15, bucket 01:00–01:15)
      ]);
      await store.refreshRollups();
      const s = await seriesOf(site, 'm1', 'import_energy');
      const quarters = await rollup('15m', s, t0 - DAY, t0 + DAY);
      // Intervals are (start, end]: a step into a reading at 00:15 belongs to 00:00–00:15.
      expect(quarters.map((b) => [b.ts - t0, b.consumption])).toEqual([
        [0, 3], // steps into 00:05, 00:10; the reset at 00:15 adds nothing
        [QUARTER, 3], // into 00:20, 00:25; the glitch at 00:30 adds nothing
        [2 * QUARTER, 2], // into 00:35 (+1) and 00:45 (+1)
        [3 * QUARTER, 0.5], // rollover at 00:50 nothing, into 00:55 +0.5
        [4 * QUARTER, 2], // into 01:15
        [5 * QUARTER, 0], // the reading at 01:15 itself, no step ends here
      ]);
      const days = await rollup('1d', s, t0 - DAY, t0 + DAY);
      expect(days).toHaveLength(1);
      expect(days[0]?.consumption).toBe(10.5);
      // Mean/min/max/last cover the good readings only (values, not steps).
      expect(quarters[0]).toMatchObject({ count: 3, min: 100, max: 103, last: 103 });
      const hours = await rollup('1h', s, t0 - DAY, t0 + DAY);
      expect(hours.map((b) => b.consumption)).toEqual([8.5, 2]);
      expect((await rollup('1mo', s, t0 - 40 * DAY, t0 + 40 * DAY))[0]?.consumption).toBe(10.5);
    });

    it('takes min, max and mean of gauges over good values, counting a compacted reading as all it stands for', async () => {
      const site = newSite();
      const t0 = Date.UTC(2026, 10, 4, 0, 0, 0);
      await store.write({ site, gateway: GW }, [
        gauge('m1', t0, 10),
        gauge('m1', t0 + MIN, 20),
        gauge('m1', t0 + 2 * MIN, 5000, 'bad_value'),
        gauge('m1', t0 + 3 * MIN, null, 'comm_error'),
        // 4 readings compacted by the gateway: mean 30, min 25, max 40
        { ...gauge('m1', t0 + 4 * MIN, 30), aggregate: { count: 4, min: 25, max: 40, from: t0 + 3.5 * MIN } },
        gauge('m1', t0 + 20 * MIN, 7),
      ]);
      await store.refreshRollups();
      const s = await seriesOf(site, 'm1', 'active_power');
      const quarters = await rollup('15m', s, t0, t0 + HOUR);
      expect(quarters).toEqual([
        { ts: t0, count: 6, sum: 150, min: 10, max: 40, last: 30, consumption: null },
        { ts: t0 + QUARTER, count: 1, sum: 7, min: 7, max: 7, last: 7, consumption: null },
      ]);
      expect(await rollup('1h', s, t0, t0 + HOUR)).toEqual([{ ts: t0, count: 7, sum: 157, min: 7, max: 40, last: 7, consumption: null }]);
      expect(await store.readRaw(s, t0 + 4 * MIN, t0 + 5 * MIN, 10)).toEqual([{ ts: t0 + 4 * MIN, value: 30, quality: 'good', aggregate: { count: 4, min: 25, max: 40 } }]);
    });

    it('updates the rollups a late reading falls in, and only those', async () => {
      const site = newSite();
      const t0 = Date.UTC(2026, 10, 5, 16, 0, 0); // local midnight in Shanghai
      // A day of 15-minute counter readings without the one at 06:00 local time.
      const all = Array.from({ length: 97 }, (_, i) => counter('m1', t0 + i * QUARTER, 500 + i));
      const late = all[24]!;
      await store.write({ site, gateway: GW }, all.filter((r) => r !== late));
      await store.write({ site, gateway: GW }, [gauge('m1', t0, 1), gauge('m1', t0 + 2 * HOUR, 3)]);
      await store.refreshRollups();
      const s = await seriesOf(site, 'm1', 'import_energy');
      const p = await seriesOf(site, 'm1', 'active_power');
      const quartersBefore = await rollup('15m', s, t0, t0 + DAY);
      // Without the 06:00 reading, the step 05:45 → 06:15 lands whole in 06:00–06:15.
      expect(quartersBefore.find((b) => b.ts === t0 + 23 * QUARTER)?.consumption).toBe(0);
      expect(quartersBefore.find((b) => b.ts === t0 + 24 * QUARTER)?.consumption).toBe(2);
      const dayBefore = await rollup('1d', s, t0, t0 + DAY);
      expect(dayBefore).toMatchObject([{ ts: t0, consumption: 96 }]);

      await store.write({ site, gateway: GW }, [late, gauge('m1', t0 + HOUR + 5 * MIN, 50)]);
      await store.refreshRollups();
      const quartersAfter = await rollup('15m', s, t0, t0 + DAY);
      expect(quartersAfter.find((b) => b.ts === t0 + 23 * QUARTER)?.consumption).toBe(1);
      expect(quartersAfter.find((b) => b.ts === t0 + 24 * QUARTER)?.consumption).toBe(1);
      // Every other bucket is as it was; the day's total is unchanged (the energy was only redistributed).
      const changed = quartersAfter.filter((b, i) => JSON.stringify(b) !== JSON.stringify(quartersBefore[i]));
      expect(changed.map((b) => b.ts)).toEqual([t0 + 23 * QUARTER, t0 + 24 * QUARTER]);
      expect(await rollup('1d', s, t0, t0 + DAY)).toMatchObject([{ ts: t0, consumption: 96, count: 96 }]);
      // The late gauge reading lands in its hour and its day.
      expect(await rollup('1h', p, t0, t0 + DAY)).toEqual([
        { ts: t0, count: 1, sum: 1, min: 1, max: 1, last: 1, consumption: null },
        { ts: t0 + HOUR, count: 1, sum: 50, min: 50, max: 50, last: 50, consumption: null },
        { ts: t0 + 2 * HOUR, count: 1, sum: 3, min: 3, max: 3, last: 3, consumption: null },
      ]);
      expect(await rollup('1d', p, t0, t0 + DAY)).toEqual([{ ts: t0, count: 3, sum: 54, min: 1, max: 50, last: 3, consumption: null }]);
    });

    it("counts days and months in the site's time zone", async () => {
      const site = newSite();
      await registry.declareSite({ id: site, timeZone: 'Asia/Shanghai' });
      // 15:59 and 16:01 UTC on 30 November are 23:59 on the 30th and 00:01 on 1 December in Shanghai.
      const lastMinute = Date.UTC(2026, 10, 30, 15, 59);
      await store.write({ site, gateway: GW }, [counter('m1', Date.UTC(2026, 10, 30, 12, 0), 10), counter('m1', lastMinute, 11), counter('m1', Date.UTC(2026, 10, 30, 16, 1), 15)]);
      await store.refreshRollups();
      const s = await seriesOf(site, 'm1', 'import_energy');
      const days = await rollup('1d', s, Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 31));
      expect(days.map((d) => [new Date(d.ts).toISOString(), d.consumption])).toEqual([
        ['2026-11-29T16:00:00.000Z', 1],
        ['2026-11-30T16:00:00.000Z', 4],
      ]);
      // The lean read of one field gives the same.
      expect((await store.readRollupField('1d', 'consumption', [s], Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 31))).get(s.id)).toEqual({ ts: days.map((d) => d.ts), values: days.map((d) => d.consumption) });
      const months = await rollup('1mo', s, Date.UTC(2026, 9, 1), Date.UTC(2027, 0, 1));
      expect(months.map((d) => [new Date(d.ts).toISOString(), d.consumption])).toEqual([
        ['2026-10-31T16:00:00.000Z', 1],
        ['2026-11-30T16:00:00.000Z', 4],
      ]);
    });

    it('gives a DST day its 23 or 25 hours', async () => {
      const site = newSite();
      await registry.declareSite({ id: site, timeZone: 'America/New_York' });
      // One reading an hour from 1 to 3 November 2026 (New York falls back on 1 November at 02:00 EDT).
      const from = Date.UTC(2026, 10, 1, 4, 0); // 00:00 EDT, 1 November
      const readings = Array.from({ length: 49 }, (_, i) => counter('m1', from + i * HOUR, i));
      // And 8 March 2026, when it springs forward: 00:00 EST is 05:00 UTC.
      const spring = Date.UTC(2026, 2, 8, 5, 0);
      readings.push(...Array.from({ length: 24 }, (_, i) => counter('m2', spring + i * HOUR, 1000 + i)));
      await store.write({ site, gateway: GW }, readings);
      await store.refreshRollups();
      const s = await seriesOf(site, 'm1', 'import_energy');
      const november = await rollup('1d', s, Date.UTC(2026, 9, 31), Date.UTC(2026, 10, 4));
      expect(november.map((d) => [new Date(d.ts).toISOString(), d.count])).toEqual([
        ['2026-11-01T04:00:00.000Z', 25],
        ['2026-11-02T05:00:00.000Z', 24],
      ]);
      // The first day's consumption: the steps into 01:00 EDT … 00:00 EST the next day, 25 of them.
      expect(november.map((d) => d.consumption)).toEqual([25, 23]);
      const march = await rollup('1d', await seriesOf(site, 'm2', 'import_energy'), Date.UTC(2026, 2, 7), Date.UTC(2026, 2, 10));
      expect(march.map((d) => [new Date(d.ts).toISOString(), d.count])).toEqual([
        ['2026-03-08T05:00:00.000Z', 23],
        ['2026-03-09T04:00:00.000Z', 1],
      ]);
      const hours = await rollup('1h', s, Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 5));
      expect(hours).toHaveLength(25);
    });

    it('deletes by retention: raw readings before a time, rollups kept until their own limit', async () => {
      const site = newSite();
      // 2001: far before anything else this suite writes, across three monthly partitions.
      const jan = Date.UTC(2001, 0, 10);
      const readings = [0, 20, 40, 60].map((d, i) => counter('m1', jan + d * DAY, 100 + i));
      await store.write({ site, gateway: GW }, readings);
      await store.refreshRollups();
      const s = await seriesOf(site, 'm1', 'import_energy');
      const cutoff = Date.UTC(2001, 1, 15); // after the first two readings
      expect(await store.deleteBefore('raw', cutoff)).toBe(2);
      expect((await store.readRaw(s, jan - DAY, jan + 70 * DAY, 100)).map((p) => p.value)).toEqual([102, 103]);
      // Rollups outlive the raw readings.
      expect(await rollup('1d', s, jan - DAY, jan + 70 * DAY)).toHaveLength(4);
      expect(await store.deleteBefore('1d', cutoff)).toBe(2);
      expect(await rollup('1d', s, jan - DAY, jan + 70 * DAY)).toHaveLength(2);
      // 15-minute buckets: the 4 holding the readings and the 3 the steps into them end in.
      expect(await rollup('15m', s, jan - DAY, jan + 70 * DAY)).toHaveLength(7);
    });

    it('stores a large batch whole and rolls it up exactly', async () => {
      const site = newSite();
      const t0 = Date.UTC(2026, 8, 1, 16, 0); // local midnight in Shanghai, 2 September
      const meters = 50;
      const perMeter = 2000; // a minute apart: 33 h 20 min
      const batch: Reading[] = [];
      for (let m = 0; m < meters; m++) for (let i = 0; i < perMeter; i++) batch.push(counter(`m${m}`, t0 + i * MIN, m * 1000 + i * 0.25));
      const result = await store.write({ site, gateway: GW }, batch);
      expect(result.inserted).toBe(meters * perMeter);
      await store.refreshRollups();
      const all = await store.seriesOfSite(site, 'import_energy');
      expect(all).toHaveLength(meters);
      const days = await store.readRollup('1d', all, t0, t0 + 2 * DAY);
      let stored = 0;
      for (const s of all) {
        stored += (await store.readRaw(s, t0, t0 + 2 * DAY, 10_000)).length;
        // Day 1: 1440 readings, 1439 steps of 0.25 plus the step into the next midnight's reading.
        expect(days.get(s.id)?.map((d) => [d.ts, d.count, d.consumption])).toEqual([
          [t0, 1440, 360],
          [t0 + DAY, 560, 139.75],
        ]);
      }
      expect(stored).toBe(meters * perMeter);
    });

    it('rolls up live traffic, many series a few readings at a time, exactly as one long write', async () => {
      const live = newSite();
      const bulk = newSite();
      const t0 = Date.UTC(2026, 10, 7, 15, 50); // ten minutes before local midnight
      const meters = 20;
      const minutes = 40;
      const reading = (m: number, i: number): Reading[] => [
        counter(`m${m}`, t0 + i * MIN, m * 100 + i * 0.5 + (i > 25 && m % 3 === 0 ? 1000 : 0), i === 26 && m % 3 === 0 ? 'counter_reset' : 'good'),
        gauge(`m${m}`, t0 + i * MIN, i % 9 === 0 ? null : m + i, i % 9 === 0 ? 'comm_error' : 'good'),
      ];
      const everyMinute = Array.from({ length: minutes }, (_, i) => Array.from({ length: meters }, (_, m) => reading(m, i)).flat());
      for (const [i, batch] of everyMinute.entries()) {
        await store.write({ site: live, gateway: GW }, batch);
        if (i % 7 === 0) await store.refreshRollups();
      }
      await store.refreshRollups();
      await store.write({ site: bulk, gateway: GW }, everyMinute.flat());
      await store.refreshRollups();
      for (const metric of ['import_energy', 'active_power']) {
        const liveSeries = await store.seriesOfSite(live, metric);
        const bulkSeries = await store.seriesOfSite(bulk, metric);
        expect(liveSeries).toHaveLength(meters);
        for (const level of ROLLUP_LEVELS) {
          const a = await store.readRollup(level, liveSeries, t0 - 40 * DAY, t0 + 40 * DAY);
          const b = await store.readRollup(level, bulkSeries, t0 - 40 * DAY, t0 + 40 * DAY);
          liveSeries.forEach((s, i) => expect(a.get(s.id), `${metric} ${level} ${s.device}`).toEqual(b.get(bulkSeries[i]!.id)));
        }
      }
      // And the arithmetic: meter 3 was reset at minute 26, which is not consumption.
      const m3 = await seriesOf(live, 'm3', 'import_energy');
      const days = await rollup('1d', m3, t0 - DAY, t0 + DAY);
      expect(days.reduce((n, d) => n + (d.consumption ?? 0), 0)).toBe((minutes - 2) * 0.5);
    });

    it('answers the latest reading of every metric of a device', async () => {
      const site = newSite();
      const t0 = Date.UTC(2026, 10, 6);
      await store.write({ site, gateway: GW }, [gauge('m1', t0, 1), gauge('m1', t0 + MIN, null, 'comm_error'), counter('m1', t0, 5), counter('m1', t0 + 2 * MIN, 6)]);
      expect(await store.latest(site, 'm1')).toEqual([
        { device: 'm1', metric: 'active_power', unit: 'W', ts: t0 + MIN, value: null, quality: 'comm_error' },
        { device: 'm1', metric: 'import_energy', unit: 'kWh', ts: t0 + 2 * MIN, value: 6, quality: 'good' },
      ]);
      expect(await store.latest(site, 'nobody')).toEqual([]);
    });
  });
}
