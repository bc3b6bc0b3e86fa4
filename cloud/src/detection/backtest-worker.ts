import { parentPort, workerData } from 'node:worker_threads';
import type { MeterRows } from './backtest-csv.js';
import { buildPrepared, contributeActivity, OutputWriter, prepareRows, release, writeMeter, type BacktestSummary, type GridSetup } from './backtest.js';
import { analyseMeterInSite, type SiteActivity } from './site-analysis.js';
import { SlotClock, WorkCalendar } from './work-calendar.js';

/**
 * A worker thread of `gatehouse detect`: given its share of the meters, it reports which slots they were
 * moving in, then analyses each one and sends back its output rows (moved, not copied).
 */
const { setup, calendar } = workerData as { setup: GridSetup; calendar: Parameters<typeof WorkCalendar.fromJSON>[0] };
const clock = new SlotClock(setup.gridStart, setup.slots, setup.timeZone, WorkCalendar.fromJSON(calendar));
let meters: MeterRows[] = [];
const port = parentPort!;

port.on('message', (msg: { type: 'meters'; meters: MeterRows[] } | { type: 'analyse'; activity: [string, { measured: Uint16Array; moving: Uint16Array }][] }) => {
  if (msg.type === 'meters') {
    meters = msg.meters;
    const activity: SiteActivity = new Map();
    for (const rows of meters) contributeActivity(activity, prepareRows(rows), setup);
    port.postMessage({ type: 'activity', activity: [...activity.entries()] });
    return;
  }
  const activity: SiteActivity = new Map(msg.activity);
  // One writer for all the meters (its timestamp cache serves them all), emptied after each meter.
  let chunks: Uint8Array[] = [];
  const out = new OutputWriter((buffer, length) => chunks.push(Uint8Array.prototype.slice.call(buffer, 0, length)), setup.epoch, setup.timeZone);
  for (const rows of meters) {
    chunks = [];
    const summary: Pick<BacktestSummary, 'duplicateRows' | 'anomalousRows' | 'findings' | 'learningMeters'> = { duplicateRows: 0, anomalousRows: 0, findings: {}, learningMeters: [] };
    const p = prepareRows(rows);
    writeMeter(out, p, analyseMeterInSite(buildPrepared(p, setup), clock, setup.detection, activity), setup.gridStart, summary as BacktestSummary);
    out.flush();
    release(rows);
    const length = chunks.reduce((n, c) => n + c.length, 0);
    const buffer = new Uint8Array(length);
    let at = 0;
    for (const c of chunks) {
      buffer.set(c, at);
      at += c.length;
    }
    port.postMessage({ type: 'meter', buffer, length, summary }, [buffer.buffer]);
  }
});
