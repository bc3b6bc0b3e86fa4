import type { Reading } from '@gatehouse/contracts';
import { createPostgresClient, detectionConfigSchema, DetectionService, migrate, openTimeSeriesStore, SiteRegistry } from '@gatehouse/cloud';
import { gaussian, seededRandom, shapeFactor, type LoadShapeName } from '@gatehouse/firmware-sim';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { withDatabase } from './bench-database.js';
import { dayNumber, WORKDAY, WorkCalendar } from '@gatehouse/cloud/detection';

const china = WorkCalendar.china();
import { describeMachine } from './machine.js';

/**
 * `npm run bench:detect-live`: the live path on PostgreSQL. 1,000 meters with the 63 days of 15-minute
 * readings a detection run reads (56 days of baseline + 7 re-judged), stored through the adapter and
 * rolled up; then one full run of the detectors, and the cost of one more hour of data for every meter
 * (written, rolled up, judged). Target: the hourly increment under 1 s.
 */
const args = process.argv.slice(2);
const meters = Number(args[args.indexOf('--meters') + 1] ?? 0) || 1000;
const days = Number(args[args.indexOf('--days') + 1] ?? 0) || 63;
const SITE = 'bench-site';
const GW = { site: SITE, gateway: 'gw-01' };
const ZONE = 'Asia/Shanghai';

console.log(describeMachine());
await withDatabase(async (url) => {
  const db = createPostgresClient({ connectionString: url, maxConnections: 8 });
  try {
    await migrate(db);
    const registry = new SiteRegistry(db);
    await registry.declareSite({ id: SITE, timeZone: ZONE });
    const store = await openTimeSeriesStore(db);
    const end = Math.floor(Date.now() / 900_000) * 900_000;
    const start = end - days * 86_400_000;
    const random = seededRandom(7);
    const shapes: LoadShapeName[] = ['office', 'residential', 'retail', 'pump'];
    const rated = Array.from({ length: meters }, () => 50 + 300 * random());
    const registers = Array.from({ length: meters }, () => 1e4 + 1e6 * random());
    const readingsAt = (ts: number): Reading[] => {
      const local = DateTime.fromMillis(ts, { zone: ZONE });
      // The buildings keep China's working calendar (holidays off, make-up days worked).
      const rest = china.kindOf(dayNumber(local.toISODate()!)) !== WORKDAY;
      return registers.map((_, m) => {
        registers[m] = registers[m]! + Math.max(0, (rated[m]! / 4) * shapeFactor(shapes[m % 4]!, rest, local.hour, local.minute) * (1 + 0.04 * gaussian(random)));
        return { device: `m${String(m + 1).padStart(4, '0')}`, metric: 'import_energy', unit: 'kWh', kind: 'counter', ts, value: Math.round(registers[m]! * 100) / 100, quality: 'good' } as Reading;
      });
    };
    let written = 0;
    const loadStarted = Date.now();
    let batch: Reading[] = [];
    for (let ts = start + 900_000; ts <= end; ts += 900_000) {
      batch.push(...readingsAt(ts));
      if (batch.length >= 20_000) {
        await store.write(GW, batch);
        written += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) {
      await store.write(GW, batch);
      written += batch.length;
    }
    const loaded = (Date.now() - loadStarted) / 1000;
    const rollStarted = Date.now();
    await store.refreshRollups();
    const rolled = (Date.now() - rollStarted) / 1000;
    console.log(`stored ${written.toLocaleString('en')} readings of ${meters} meters over ${days} days in ${loaded.toFixed(1)} s, rolled up in ${rolled.toFixed(1)} s`);

    let now = end;
    const detection = new DetectionService({ db, timeSeries: store, config: detectionConfigSchema.parse({}), sites: [{ id: SITE }], logger: pino({ level: 'silent' }), now: () => now });
    const heapBefore = process.memoryUsage().rss;
    const full = await detection.runOnce();
    const rssAfter = process.memoryUsage().rss;
    const byDetector = await db.query<{ detector: string; n: number }>('SELECT detector, count(*)::int AS n FROM findings GROUP BY detector ORDER BY detector');
    console.log(`findings on these clean meters: ${byDetector.map((r) => `${r.detector} ${r.n}`).join(', ') || 'none'}`);
    console.log(`first detection run: ${full.ms} ms for ${full.meters} meters (${full.findings} findings), RSS ${(heapBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`);

    // One more hour for every meter: written, rolled up, judged.
    const hourStarted = Date.now();
    const hour: Reading[] = [];
    for (let ts = end + 900_000; ts <= end + 3_600_000; ts += 900_000) hour.push(...readingsAt(ts));
    await store.write(GW, hour);
    const written1h = Date.now() - hourStarted;
    const rollStarted1h = Date.now();
    await store.refreshRollups();
    const rolled1h = Date.now() - rollStarted1h;
    now = end + 3_600_000;
    const increment = await detection.runOnce();
    const total = Date.now() - hourStarted;
    console.log(`one more hour (${hour.length.toLocaleString('en')} readings): written ${written1h} ms, rolled up ${rolled1h} ms, detectors ${increment.ms} ms (rollups read ${increment.phases.readMs} ms, analysed ${increment.phases.analyseMs} ms, findings stored ${increment.phases.storeMs} ms); ${total} ms in all`);
    console.log(
      JSON.stringify({
        detect_live_first_run_ms: full.ms,
        detect_live_hour_increment_detectors_ms: increment.ms,
        detect_live_hour_increment_total_ms: total,
        detect_live_rss_mib: Math.round(rssAfter / 2 ** 20),
        meters,
        days,
      }),
    );
  } finally {
    await db.close();
  }
});
