import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectionOptions, runBacktest, WorkCalendar } from '@gatehouse/cloud/detection';
import { DateTime } from 'luxon';
import { ANOMALY_TYPES, generateSuite, type Anomaly } from './anomaly-eval/labelled-suite.js';
import { scoreEvents, type FlaggedRow } from './anomaly-eval/event-scoring.js';
import { describeMachine } from './machine.js';

/**
 * `npm run eval:anomaly`: event-level precision, recall and F1 of the detectors per anomaly type, and
 * false alerts per clean meter-month, on labelled suites the detectors were not tuned on.
 *
 * Reported figures: seeds 101–103, January–May 2025 (the Spring Festival and its make-up days, Qingming,
 * Labour Day, a heat wave or two). Tuning used `--tuning`: seeds 1–2, March–July 2024, other meters.
 */
const args = process.argv.slice(2);
const tuning = args.includes('--tuning');
const verbose = args.includes('--verbose');
const seeds = tuning ? [1, 2] : [101, 102, 103];
const period = tuning ? { from: '2024-03-01', months: 5 } : { from: '2025-01-01', months: 5 };

const work = mkdtempSync(join(tmpdir(), 'gatehouse-eval-'));
const flagged = new Map<string, FlaggedRow[]>();
const anomalies: Anomaly[] = [];
const clean: string[] = [];
let rows = 0;
let meters = 0;
const started = Date.now();
try {
  for (const seed of seeds) {
    const suite = generateSuite({ seed, from: period.from, months: period.months });
    anomalies.push(...suite.anomalies);
    meters += suite.meters.length;
    clean.push(...suite.meters.filter((m) => m.clean).map((m) => m.id));
    const input = join(work, `readings-${seed}.csv`);
    const output = join(work, `scores-${seed}.csv`);
    const lines = ['timestamp,meter,value,unit'];
    for (const m of suite.meters) {
      for (let i = 0; i < m.ts.length; i++) lines.push(`${DateTime.fromMillis(m.ts[i]!, { zone: suite.timeZone }).toISO({ suppressMilliseconds: true })},${m.id},${m.value[i]},${m.unit}`);
    }
    rows += lines.length - 1;
    writeFileSync(input, `${lines.join('\n')}\n`);
    await runBacktest({ input, output, calendar: WorkCalendar.china(), timeZone: suite.timeZone, detection: detectionOptions(), tree: suite.tree });
    // Read back the exact output format, as a script would.
    const text = readFileSync(output, 'utf8').trimEnd().split('\n');
    if (text[0] !== 'timestamp,meter,score,anomaly,detector,expected') throw new Error(`unexpected header ${text[0]}`);
    for (const line of text.slice(1)) {
      const [timestamp, meter, , anomaly, detector] = line.split(',');
      if (anomaly !== 'true') continue;
      const list = flagged.get(meter!) ?? [];
      list.push({ ts: DateTime.fromISO(timestamp!).toMillis(), detector: detector! });
      flagged.set(meter!, list);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const result = scoreEvents(flagged, anomalies, clean, period.months);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7);
console.log(`anomaly detection, event level (${tuning ? 'TUNING set' : 'reported set'}: seeds ${seeds.join(', ')}, ${period.from} + ${period.months} months, 15-minute data)`);
console.log(describeMachine());
console.log(`${meters} meters, ${rows} readings, ${anomalies.length} labelled anomalies, ${clean.length} clean meters; ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log('');
console.log(`${'type'.padEnd(14)} ${'anomalies'.padStart(9)} ${'found'.padStart(6)} ${'alerts'.padStart(7)} ${'false'.padStart(6)} ${'precision'.padStart(9)} ${'recall'.padStart(7)} ${'F1'.padStart(7)}`);
for (const type of ANOMALY_TYPES) {
  const s = result.perType[type];
  console.log(`${type.padEnd(14)} ${String(s.anomalies).padStart(9)} ${String(s.found).padStart(6)} ${String(s.alerts).padStart(7)} ${String(s.falseAlerts).padStart(6)} ${pct(s.precision).padStart(9)} ${pct(s.recall)} ${pct(s.f1)}`);
}
const o = result.overall;
console.log(`${'overall'.padEnd(14)} ${String(o.anomalies).padStart(9)} ${String(o.found).padStart(6)} ${String(o.alerts).padStart(7)} ${String(o.falseAlerts).padStart(6)} ${pct(o.precision).padStart(9)} ${pct(o.recall)} ${pct(o.f1)}`);
console.log('');
console.log(`false alerts on clean meters: ${result.cleanFalseAlerts} over ${result.cleanMeters} meters × ${period.months} months = ${result.falseAlertsPerCleanMeterMonth.toFixed(3)} per meter-month`);
if (verbose) {
  for (const a of anomalies) {
    const rowsOf = flagged.get(a.meter) ?? [];
    const found = rowsOf.some((r) => r.ts >= a.start - 7_200_000 && r.ts <= a.end + 7_200_000);
    if (!found) console.log(`missed ${a.type} on ${a.meter} at ${new Date(a.start).toISOString()} (${a.note})`);
  }
  for (const alert of result.alerts.filter((x) => x.false)) console.log(`false ${alert.detector} on ${alert.meter} ${new Date(alert.start).toISOString()} – ${new Date(alert.end).toISOString()} (${alert.rows.length} rows)`);
}
const minF1 = Math.min(...ANOMALY_TYPES.map((t) => result.perType[t].f1));
console.log(
  JSON.stringify({
    anomaly_f1_overall: round(o.f1),
    anomaly_f1_min_per_type: round(minF1),
    ...Object.fromEntries(ANOMALY_TYPES.map((t) => [`f1_${t}`, round(result.perType[t].f1)])),
    false_alerts_per_clean_meter_month: round(result.falseAlertsPerCleanMeterMonth),
  }),
);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
