import { closeSync, openSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DateTime } from 'luxon';
import { CHUNK_ROWS, readBacktestCsv, type MeterRows, type ParsedCsv } from './backtest-csv.js';
import type { DetectionOptions } from './detection-options.js';
import { DETECTORS } from './findings.js';
import { DETECTOR_RANK, type MeterAnalysis } from './meter-analysis.js';
import { buildSeries, type MeterSeries } from './meter-series.js';
import { addToActivity, analyseMeterInSite, checkMainAgainstSubs, type MeterTree, type SiteActivity } from './site-analysis.js';
import { SLOT_MS, SlotClock, type WorkCalendar } from './work-calendar.js';

export interface BacktestOptions {
  input: string;
  output: string;
  calendar: WorkCalendar;
  timeZone: string;
  detection: DetectionOptions;
  tree?: MeterTree;
  /** unit of meters whose rows give none (kWh, m3, …): water meters get the leak detector */
  defaultUnit?: string;
  onProgress?: (stage: 'reading' | 'detecting' | 'done', done: number, total: number) => void;
  /** worker threads for the analysis (default: one per core; 0: all on this thread) */
  workers?: number;
}

export interface BacktestSummary {
  meters: number;
  rows: number;
  skippedLines: number;
  skippedExamples: { line: number; reason: string }[];
  duplicateRows: number;
  anomalousRows: number;
  findings: Record<string, number>;
  /** meters without enough history for a baseline (only the facts: gaps, resets) */
  learningMeters: string[];
}

export const BACKTEST_HEADER = 'timestamp,meter,score,anomaly,detector,expected';

/**
 * `gatehouse detect`: reads the readings, runs every detector over each meter as the live path would
 * (each interval judged only on what came before it), and writes one scored row per input row. Meters
 * are analysed on worker threads (`workers`, default one per core) while the file is read on this one.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestSummary> {
  const parsed = readBacktestCsv(options.input, (done, total) => options.onProgress?.('reading', done, total));
  const gridStart = Math.floor((parsed.minTs - 1) / 3_600_000) * 3_600_000;
  const slots = Math.ceil((parsed.maxTs - gridStart) / SLOT_MS / 4) * 4 + 4;
  const setup: GridSetup = {
    gridStart,
    slots,
    timeZone: options.timeZone,
    detection: options.detection,
    defaultUnit: options.defaultUnit ?? '',
    commLossMs: options.detection.commLossMinutes * 60_000,
    epoch: parsed.epochTimestamps,
  };
  const clock = new SlotClock(gridStart, slots, options.timeZone, options.calendar);
  const tree = options.tree ?? new Map<string, readonly string[]>();
  const inTree = new Set([...tree.keys(), ...[...tree.values()].flat()]);
  const summary: BacktestSummary = { meters: parsed.meters.length, rows: parsed.rows, skippedLines: parsed.skipped, skippedExamples: parsed.skippedExamples, duplicateRows: 0, anomalousRows: 0, findings: Object.fromEntries(DETECTORS.map((d) => [d, 0])), learningMeters: [] };
  const alone = parsed.meters.filter((m) => !inTree.has(m.meter));
  const together = parsed.meters.filter((m) => inTree.has(m.meter));
  const workers = Math.min(options.workers ?? availableParallelism(), Math.floor(alone.length / 4));

  const fd = openSync(options.output, 'w');
  const out = new OutputWriter((buffer, length) => writeAll(fd, buffer, length), setup.epoch, setup.timeZone);
  out.header();
  try {
    let done = 0;
    const progress = () => options.onProgress?.('detecting', ++done, parsed.meters.length);
    // Which slots each commodity's counters were moving in: a stuck meter is one whose siblings go on.
    const activity: SiteActivity = new Map();
    for (const rows of together) contributeActivity(activity, prepareRows(rows), setup);
    if (workers >= 1) {
      await analyseOnWorkers(alone, workers, setup, options.calendar, activity, summary, (buffer, length) => {
        out.flush();
        writeAll(fd, buffer, length);
        progress();
      });
    } else {
      for (const rows of alone) contributeActivity(activity, prepareRows(rows), setup);
      for (const rows of alone) {
        const p = prepareRows(rows);
        writeMeter(out, p, analyseMeterInSite(buildPrepared(p, setup), clock, options.detection, activity), gridStart, summary);
        release(rows);
        progress();
      }
    }
    // Meters of a main/sub-meter tree are analysed together, here.
    const treeAnalyses = new Map<string, { analysis: MeterAnalysis; prepared: PreparedMeter }>();
    for (const rows of together) {
      const p = prepareRows(rows);
      treeAnalyses.set(rows.meter, { analysis: analyseMeterInSite(buildPrepared(p, setup), clock, options.detection, activity), prepared: p });
    }
    for (const [main, subs] of tree) {
      const m = treeAnalyses.get(main);
      const s = subs.map((sub) => treeAnalyses.get(sub)?.analysis).filter((a): a is MeterAnalysis => a !== undefined);
      if (m && s.length === subs.length && s.length > 0) checkMainAgainstSubs(m.analysis, s, options.detection);
    }
    for (const { analysis, prepared: p } of treeAnalyses.values()) {
      writeMeter(out, p, analysis, gridStart, summary);
      progress();
    }
    out.flush();
  } finally {
    closeSync(fd);
  }
  options.onProgress?.('done', 1, 1);
  return summary;
}

/** What every meter's analysis shares (sent to worker threads as is). */
export interface GridSetup {
  gridStart: number;
  slots: number;
  timeZone: string;
  detection: DetectionOptions;
  defaultUnit: string;
  commLossMs: number;
  epoch: boolean;
}

export function buildPrepared(p: PreparedMeter, setup: GridSetup): MeterSeries {
  return buildSeries(p.rows.meter, p.kind, p.rows.unit ?? setup.defaultUnit, p.ts, p.value, p.distinct, { gridStart: setup.gridStart, slots: setup.slots, commLossMs: setup.commLossMs });
}

export function contributeActivity(activity: SiteActivity, p: PreparedMeter, setup: GridSetup): void {
  if (p.kind === 'counter') addToActivity(activity, buildPrepared(p, setup), setup.slots);
}

function writeAll(fd: number, buffer: Uint8Array, length: number): void {
  let written = 0;
  while (written < length) written += writeSync(fd, buffer, written, length - written);
}

export function mergeSummary(into: BacktestSummary, part: Pick<BacktestSummary, 'duplicateRows' | 'anomalousRows' | 'findings' | 'learningMeters'>): void {
  into.duplicateRows += part.duplicateRows;
  into.anomalousRows += part.anomalousRows;
  for (const [d, n] of Object.entries(part.findings)) into.findings[d] = (into.findings[d] ?? 0) + n;
  into.learningMeters.push(...part.learningMeters);
}

/**
 * The meters shared out to `count` worker threads (their rows moved, not copied): each works out its
 * meters' activity, then, given everybody's, analyses them and sends back their output rows, which are
 * written as they come.
 */
async function analyseOnWorkers(
  meters: MeterRows[],
  count: number,
  setup: GridSetup,
  calendar: WorkCalendar,
  activity: SiteActivity,
  summary: BacktestSummary,
  write: (buffer: Uint8Array, length: number) => void,
): Promise<void> {
  const pool = Array.from({ length: count }, () => new Worker(new URL('./backtest-worker.js', import.meta.url), { workerData: { setup, calendar: calendar.toJSON() } }));
  const failed = new Promise<never>((_, reject) => {
    for (const w of pool) {
      w.once('error', reject);
      w.once('exit', (code) => {
        if (code !== 0) reject(new Error(`a detection worker stopped with code ${code}`));
      });
    }
  });
  try {
    const shares: MeterRows[][] = pool.map(() => []);
    meters.forEach((m, i) => shares[i % count]!.push(m));
    const partial = await Promise.race([
      failed,
      Promise.all(
        pool.map((w, k) => {
          const share = shares[k]!;
          const reply = once(w, 'activity');
          w.postMessage({ type: 'meters', meters: share }, share.flatMap((m) => [...m.chunks.ts, ...m.chunks.value, ...m.chunks.bad].map((c) => c.buffer)) as never);
          return reply;
        }),
      ),
    ]);
    for (const part of partial as [string, { measured: Uint16Array; moving: Uint16Array }][][]) {
      for (const [commodity, arrays] of part) {
        const entry = activity.get(commodity);
        if (!entry) activity.set(commodity, { measured: Uint16Array.from(arrays.measured), moving: Uint16Array.from(arrays.moving) });
        else
          for (let s = 0; s < setup.slots; s++) {
            entry.measured[s]! += arrays.measured[s]!;
            entry.moving[s]! += arrays.moving[s]!;
          }
      }
    }
    // Output as each meter is done (grouped by meter, in no set order of meters): holding finished
    // meters back for the order would cost memory whenever one worker runs ahead.
    let written = 0;
    const drained = new Promise<void>((resolve) => {
      for (const w of pool) {
        w.on('message', (msg: { type: string; buffer: Uint8Array; length: number; summary: Parameters<typeof mergeSummary>[1] }) => {
          if (msg.type !== 'meter') return;
          write(msg.buffer, msg.length);
          mergeSummary(summary, msg.summary);
          if (++written === meters.length) resolve();
        });
      }
      if (meters.length === 0) resolve();
    });
    const merged = [...activity.entries()];
    for (const w of pool) w.postMessage({ type: 'analyse', activity: merged });
    await Promise.race([failed, drained]);
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

function once(worker: Worker, type: string): Promise<unknown> {
  return new Promise((resolve) => {
    const listener = (msg: { type: string; activity?: unknown }) => {
      if (msg.type !== type) return;
      worker.off('message', listener);
      resolve(msg.activity);
    };
    worker.on('message', listener);
  });
}

export interface PreparedMeter {
  rows: MeterRows;
  /** every row's time, in file order */
  rowTs: Float64Array;
  kind: 'counter' | 'gauge';
  /** distinct timestamps in order and their values (the last row of a timestamp wins) */
  ts: Float64Array;
  value: Float64Array;
  distinct: number;
  /** for every input row in time order: the index of its distinct timestamp */
  order: Uint32Array;
  rowDistinct: Uint32Array;
}

export function release(rows: MeterRows): void {
  rows.chunks = { ts: [], value: [], bad: [] };
}

export function prepareRows(chunked: MeterRows): PreparedMeter {
  const n = chunked.count;
  // This meter's rows in one array each (one meter at a time: memory holds the chunks and one meter).
  const rowTs = new Float64Array(n);
  const rowValue = new Float64Array(n);
  const rowBad = chunked.chunks.bad.length > 0 ? new Uint8Array(n) : undefined;
  chunked.chunks.ts.forEach((c, i) => rowTs.set(c.subarray(0, Math.min(CHUNK_ROWS, n - i * CHUNK_ROWS)), i * CHUNK_ROWS));
  chunked.chunks.value.forEach((c, i) => rowValue.set(c.subarray(0, Math.min(CHUNK_ROWS, n - i * CHUNK_ROWS)), i * CHUNK_ROWS));
  chunked.chunks.bad.forEach((c, i) => rowBad!.set(c.subarray(0, Math.min(CHUNK_ROWS, n - i * CHUNK_ROWS)), i * CHUNK_ROWS));
  const rows = { ...chunked, ts: rowTs, value: rowValue, bad: rowBad };
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!rows.sorted) {
    const ts = rows.ts;
    // Stable: rows of one timestamp keep their file order, so the last one written wins.
    const sorted = Array.from(order).sort((a, b) => ts[a]! - ts[b]! || a - b);
    order.set(sorted);
  }
  const ts = new Float64Array(n);
  const value = new Float64Array(n);
  const rowDistinct = new Uint32Array(n);
  let distinct = 0;
  let decreases = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const t = rows.ts[i]!;
    // A reading the edge flagged is left out of the series (its interval stays unmeasured).
    const flagged = rows.bad !== undefined && rows.bad[i] === 1;
    if (distinct > 0 && ts[distinct - 1] === t) {
      if (!flagged) value[distinct - 1] = rows.value[i]!;
    } else if (!flagged) {
      if (distinct > 0 && rows.value[i]! < value[distinct - 1]!) decreases++;
      ts[distinct] = t;
      value[distinct] = rows.value[i]!;
      distinct++;
    }
    rowDistinct[k] = Math.max(0, distinct - 1);
  }
  // Without a kind column: a counter when the values (almost) never go down; a reset or a glitch now
  // and then does not make a register a gauge.
  const kind = rows.kind ?? (decreases <= Math.max(2, distinct * 0.01) ? 'counter' : 'gauge');
  return { rows: chunked, rowTs, kind, ts, value, distinct, order, rowDistinct };
}


export function writeMeter(out: OutputWriter, p: PreparedMeter, analysis: MeterAnalysis, gridStart: number, summary: BacktestSummary): void {
  for (const f of analysis.findings) summary.findings[f.detector] = (summary.findings[f.detector] ?? 0) + 1;
  if (analysis.learnedFromSlot === null) summary.learningMeters.push(p.rows.meter);
  const meterField = csvField(p.rows.meter);
  let previousDistinct = -1;
  for (let k = 0; k < p.rows.count; k++) {
    const d = p.rowDistinct[k]!;
    const t = p.rowTs[p.order[k]!]!;
    if (d === previousDistinct) summary.duplicateRows++;
    previousDistinct = d;
    // The row stands for the interval since the reading before it: every slot of that interval.
    const last = Math.floor((t - 1 - gridStart) / SLOT_MS);
    // A reading left out (flagged by the edge) stands for its own slot only.
    const own = p.distinct > 0 && p.ts[d] === t;
    const first = p.kind === 'counter' && own ? (d > 0 ? Math.floor((p.ts[d - 1]! - gridStart) / SLOT_MS) : last + 1) : last;
    let score = 0;
    let code = 0;
    let expected = 0;
    let expectedKnown = first <= last;
    for (let s = Math.max(0, first); s <= last; s++) {
      const sc = analysis.score[s]!;
      if (sc > score) score = sc;
      const c = analysis.detector[s]!;
      if (c !== 0 && DETECTOR_RANK[c]! > DETECTOR_RANK[code]!) code = c;
      const e = analysis.expected[s]!;
      if (Number.isNaN(e)) expectedKnown = false;
      else expected += e;
    }
    if (code !== 0) summary.anomalousRows++;
    out.row(t, meterField, code !== 0 ? Math.max(1, score) : Math.min(score, 0.999), code !== 0, code === 0 ? '' : DETECTORS[code - 1]!, expectedKnown ? expected : Number.NaN);
  }
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const ASCII = /^[\x00-\x7f]*$/;

/** A number with trailing zeros dropped, at most log10(scale) decimals; integer arithmetic, faster than toFixed. */
function fixed(x: number, scale: number): string {
  const n = Math.round(Math.abs(x) * scale);
  if (!Number.isSafeInteger(n)) return String(Math.round(x * scale) / scale);
  const whole = Math.floor(n / scale);
  let fraction = n - whole * scale;
  const sign = x < 0 && n > 0 ? '-' : '';
  if (fraction === 0) return `${sign}${whole}`;
  let digits = scale === 1000 ? 3 : 4;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  return `${sign}${whole}.${String(fraction).padStart(digits, '0')}`;
}

/** Buffered formatting of the output rows; timestamps are formatted from a per-hour cache shared by all meters. */
export class OutputWriter {
  private readonly buffer = Buffer.allocUnsafe(4 << 20);
  private position = 0;
  private readonly days = new Map<number, { start: number; end: number; prefix: string; suffix: string; offsetMs: number }>();

  constructor(
    private readonly sink: (buffer: Uint8Array, length: number) => void,
    private readonly epoch: boolean,
    private readonly timeZone: string,
  ) {}

  header(): void {
    this.write(`${BACKTEST_HEADER}\n`);
  }

  row(ts: number, meter: string, score: number, anomaly: boolean, detector: string, expected: number): void {
    this.write(`${this.timestamp(ts)},${meter},${fixed(score, 1000)},${anomaly ? 'true' : 'false'},${detector},${Number.isNaN(expected) ? '' : fixed(expected, 10_000)}\n`);
  }

  private write(line: string): void {
    if (this.position + line.length * 3 > this.buffer.length) this.flush();
    // Latin-1 is a plain byte copy: right for ASCII lines, which nearly all are.
    this.position += this.buffer.write(line, this.position, ASCII.test(line) ? 'latin1' : 'utf8');
  }

  private timestamp(ts: number): string {
    if (this.epoch) return String(ts);
    // Keyed by UTC hour: an hour never spans two offsets (offsets change on whole quarter hours, and
    // the entry checks its own bounds).
    const key = Math.floor(ts / 3_600_000);
    let day = this.days.get(key);
    if (!day || ts < day.start || ts >= day.end) {
      const local = DateTime.fromMillis(ts, { zone: this.timeZone });
      const hourStart = key * 3_600_000;
      const sameOffset = DateTime.fromMillis(hourStart, { zone: this.timeZone }).offset === local.offset && DateTime.fromMillis(hourStart + 3_599_999, { zone: this.timeZone }).offset === local.offset;
      day = {
        start: sameOffset ? hourStart : ts - (ts % 60_000),
        end: sameOffset ? hourStart + 3_600_000 : ts - (ts % 60_000) + 60_000,
        prefix: local.toFormat("yyyy-MM-dd'T'"),
        suffix: local.toFormat('ZZ'),
        offsetMs: local.offset * 60_000,
      };
      if (sameOffset) this.days.set(key, day);
    }
    const shifted = ts + day.offsetMs;
    const msOfDay = shifted - Math.floor(shifted / 86_400_000) * 86_400_000;
    const h = Math.floor(msOfDay / 3_600_000);
    const m = Math.floor((msOfDay % 3_600_000) / 60_000);
    const s = Math.floor((msOfDay % 60_000) / 1000);
    const ms = msOfDay % 1000;
    return `${day.prefix}${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${s < 10 ? '0' : ''}${s}${ms === 0 ? '' : `.${String(ms).padStart(3, '0')}`}${day.suffix}`;
  }

  flush(): void {
    if (this.position > 0) this.sink(this.buffer, this.position);
    this.position = 0;
  }
}

export type { ParsedCsv };
