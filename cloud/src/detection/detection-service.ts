import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql-client.js';
import type { SeriesRef, TimeSeriesStore } from '../storage/time-series-store.js';
import type { DetectionConfig } from './detection-config.js';
import { describeFinding } from './finding-description.js';
import type { Finding } from './findings.js';
import { SLOTS_PER_DAY, type AnalysisCheckpoint } from './analysis-checkpoint.js';
import type { MeterAnalysis, RawFinding } from './meter-analysis.js';
import { commodityOfUnit, SLOT_BAD, SLOT_COUNTER_EVENT, SLOT_FILLED, type CounterEvent, type MeterSeries } from './meter-series.js';
import { analyseSite } from './site-analysis.js';
import { TariffTable, type Tariff } from './tariff.js';
import { SLOT_MS, SlotClock, WorkCalendar } from './work-calendar.js';
import { ROLLUP_CHANGES_KEPT_MS } from '../storage/rollups/rollup-maintainer.js';

export interface DetectionSite {
  id: string;
  tariff?: Tariff;
  /** main meter (device id) → its sub-meters */
  subMeters?: Record<string, string[]>;
}

export interface DetectionServiceOptions {
  db: SqlClient;
  timeSeries: TimeSeriesStore;
  config: DetectionConfig;
  /** sites declared in the configuration, with their tariffs and meter trees */
  sites: readonly DetectionSite[];
  logger: Logger;
  now?: () => number;
}

export interface DetectionRun {
  sites: number;
  meters: number;
  learning: number;
  findings: number;
  ms: number;
  /** where the time went: reading rollups, running the detectors, storing findings */
  phases: { readMs: number; analyseMs: number; storeMs: number };
}

const QUALITY_EVENT: Record<string, CounterEvent['kind'] | 'jump'> = {
  counter_reset: 'reset',
  counter_rollover: 'rollover',
  counter_negative_step: 'negative_step',
  counter_jump: 'jump',
};

// Arbitrary constant: one detection run at a time across cloud instances.
const DETECTION_LOCK_ID = 7_362_020;

/**
 * Rollups are kept in memory between runs, and only what changed is read again: the buckets that
 * refreshes of any instance logged as recomputed (rollup_changes), and the newest quarter hours.
 */
interface SiteRollups {
  gridStart: number;
  slots: number;
  horizon: number;
  /**
   * 15-minute consumption per series id from gridStart, NaN where no bucket: room for two days more
   * than the grid, which grows an hour at a time and moves a day at a time, so that neither allocates.
   */
  buffers: Map<number, Float64Array>;
}

function capacityOf(rollups: SiteRollups): number {
  return rollups.buffers.values().next().value?.length ?? 0;
}

/**
 * Runs the detectors on every site's meters from the 15-minute rollups, every `everyMs`: each run
 * re-judges the last `reanalyseDays` (so late or replayed data that changes a quarter hour changes the
 * findings), stores the findings with their evidence, and records each meter's learning state.
 */
export class DetectionService {
  readonly calendar: WorkCalendar;
  private readonly runListeners: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly now: () => number;
  private readonly cache = new Map<string, SiteRollups>();
  /** per site and series id, the buffers a run builds a meter's series in */
  private readonly work = new Map<string, Map<number, { values: Float64Array; flags: Uint8Array }>>();
  /** per site and meter, where the last run's analysis stood at the start of its re-judged window */
  private readonly checkpoints = new Map<string, Map<string, AnalysisCheckpoint>>();
  /** per series id, the earliest bucket a rollup refresh changed since it was last read */
  private readonly changedFrom = new Map<number, number>();
  /** the last entry of the rollup change log read, and when (wall clock) */
  private changesSeen = 0;
  private changesReadAt = 0;

  constructor(private readonly options: DetectionServiceOptions) {
    this.calendar = WorkCalendar.load(options.config.calendar);
    this.now = options.now ?? Date.now;
  }

  /** Notes the buckets recomputed since the last run; forgets every site's rollups if the log may have lost some. */
  private async readRollupChanges(): Promise<void> {
    // Wall-clock time: how long the log keeps entries has nothing to do with the data's clock.
    const stale = Date.now() - this.changesReadAt > ROLLUP_CHANGES_KEPT_MS / 2;
    const { last, fromBySeries } = await this.options.timeSeries.rollupChangesSince(stale ? 0 : this.changesSeen);
    if (stale) {
      this.cache.clear();
      this.changedFrom.clear();
    } else {
      for (const [id, from] of fromBySeries) this.changedFrom.set(id, Math.min(this.changedFrom.get(id) ?? Infinity, from));
    }
    this.changesSeen = last;
    this.changesReadAt = Date.now();
  }

  /**
   * The site's 15-minute consumption over [gridStart, horizon): from memory, with the buckets changed
   * since the last run and the newest ones read again; all of it on the first run and when the meters
   * change.
   */
  private async rollupsOf(site: string, refs: readonly SeriesRef[], gridStart: number, slots: number, horizon: number): Promise<Map<number, Float64Array>> {
    let cached = this.cache.get(site);
    const sameMeters = cached !== undefined && cached.buffers.size === refs.length && refs.every((r) => cached!.buffers.has(r.id));
    const capacity = slots + 2 * SLOTS_PER_DAY;
    // Reads: every meter from `from`, and the meters whose older buckets changed from their earliest change.
    let from = gridStart;
    let changed: SeriesRef[] = [];
    let changedFrom = Infinity;
    const shift = cached ? Math.round((gridStart - cached.gridStart) / SLOT_MS) : -1;
    if (cached && sameMeters && shift >= 0 && slots + shift <= capacityOf(cached)) {
      // Slide the grid, then read again the last quarter hour read and what is new.
      if (shift > 0) for (const buffer of cached.buffers.values()) buffer.copyWithin(0, shift).fill(Number.NaN, buffer.length - shift);
      from = Math.max(gridStart, cached.horizon - SLOT_MS);
      changed = refs.filter((r) => (this.changedFrom.get(r.id) ?? Infinity) < from);
      for (const r of changed) changedFrom = Math.min(changedFrom, this.changedFrom.get(r.id)!);
      changedFrom = Math.max(gridStart, changedFrom);
      cached.gridStart = gridStart;
      cached.slots = slots;
    } else {
      cached = { gridStart, slots, horizon, buffers: new Map(refs.map((r) => [r.id, new Float64Array(capacity).fill(Number.NaN)])) };
      this.cache.set(site, cached);
    }
    for (const r of refs) this.changedFrom.delete(r.id);
    const reads: [readonly SeriesRef[], number][] = [[refs, from]];
    if (changed.length > 0) reads.push([changed, changedFrom]);
    for (const [readRefs, readFrom] of reads) {
      const read = await this.options.timeSeries.readRollupField('15m', 'consumption', readRefs, readFrom, horizon);
      const firstSlot = Math.max(0, Math.round((readFrom - gridStart) / SLOT_MS));
      for (const ref of readRefs) {
        const buffer = cached.buffers.get(ref.id)!;
        buffer.fill(Number.NaN, firstSlot);
        const column = read.get(ref.id);
        if (!column) continue;
        for (let k = 0; k < column.ts.length; k++) {
          const slot = Math.round((column.ts[k]! - gridStart) / SLOT_MS);
          const v = column.values[k];
          if (slot >= 0 && slot < slots && v !== null && v !== undefined) buffer[slot] = v;
        }
      }
    }
    cached.horizon = horizon;
    return new Map([...cached.buffers].map(([id, buffer]) => [id, buffer.subarray(0, slots)]));
  }

  /**
   * A meter's series buffers for this run, the same ones every run (a run's series are dropped before
   * the next): allocating two months of slots per meter every run costs more than analysing them.
   */
  private workBuffers(site: string, seriesId: number, slots: number): { values: Float64Array; flags: Uint8Array } {
    let bySeries = this.work.get(site);
    if (!bySeries) this.work.set(site, (bySeries = new Map()));
    let buffers = bySeries.get(seriesId);
    if (!buffers || buffers.values.length < slots) {
      buffers = { values: new Float64Array(slots + 2 * SLOTS_PER_DAY), flags: new Uint8Array(slots + 2 * SLOTS_PER_DAY) };
      bySeries.set(seriesId, buffers);
    }
    return { values: buffers.values.subarray(0, slots), flags: buffers.flags.subarray(0, slots) };
  }

  /** Told after each run that stored findings (the work-order raiser looks at once). */
  onRun(listener: () => void): void {
    this.runListeners.push(listener);
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((err: unknown) => this.options.logger.error({ err }, 'energy detection run failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.config.everyMs);
        });
    };
    this.timer = setTimeout(tick, Math.min(5_000, this.options.config.everyMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running.catch(() => undefined);
  }

  async runOnce(): Promise<DetectionRun> {
    const started = Date.now();
    return this.options.db.withSessionLock(DETECTION_LOCK_ID, async () => {
      const run: DetectionRun = { sites: 0, meters: 0, learning: 0, findings: 0, ms: 0, phases: { readMs: 0, analyseMs: 0, storeMs: 0 } };
      const sites = await this.options.db.query<{ id: string; time_zone: string }>('SELECT id, time_zone FROM sites ORDER BY id');
      const changesStarted = Date.now();
      await this.readRollupChanges();
      run.phases.readMs += Date.now() - changesStarted;
      for (const site of sites) {
        const done = await this.runSite(site.id, site.time_zone, run.phases);
        run.sites++;
        run.meters += done.meters;
        run.learning += done.learning;
        run.findings += done.findings;
      }
      run.ms = Date.now() - started;
      for (const listener of this.runListeners) listener();
      return run;
    });
  }

  private async runSite(site: string, timeZone: string, phases: DetectionRun['phases']): Promise<{ meters: number; learning: number; findings: number }> {
    const { config, timeSeries, db } = this.options;
    const declared = this.options.sites.find((s) => s.id === site);
    // A device's meter: the first configured metric it has, if a counter.
    const meters = new Map<string, SeriesRef>();
    for (const metric of config.metrics) {
      for (const s of await timeSeries.seriesOfSite(site, metric)) if (s.kind === 'counter' && !meters.has(s.device)) meters.set(s.device, s);
    }
    if (meters.size === 0) return { meters: 0, learning: 0, findings: 0 };
    const now = this.now();
    const horizon = Math.floor(now / SLOT_MS) * SLOT_MS;
    // The days a baseline looks back, the days re-judged, and one more: the grid starts at a UTC
    // midnight and moves a day at a time, and a checkpoint taken up on the moved grid still has all the
    // days its baselines look back to.
    const windowDays = config.settings.profileDays + config.reanalyseDays + 1;
    const gridStart = Math.floor((horizon - windowDays * 86_400_000) / 86_400_000) * 86_400_000;
    // To a whole hour, and past `now`: a counter event is a fact as soon as it is stored, and need not
    // wait for its quarter hour to be rolled up.
    const slots = Math.ceil((Math.max(now, horizon) - gridStart) / SLOT_MS / 4) * 4;
    const clock = new SlotClock(gridStart, slots, timeZone, this.calendar);
    const refs = [...meters.values()];
    let phaseStart = Date.now();
    const consumption = await this.rollupsOf(site, refs, gridStart, slots, horizon);
    const events = await db.query<{ device: string; metric: string; ts: number; quality: string; value: number | null }>(
      `SELECT device, metric, (extract(epoch from ts) * 1000)::float8 AS ts, quality, value FROM counter_events
        WHERE site = $1 AND ts > to_timestamp($2 / 1000.0) AND ts <= to_timestamp($3 / 1000.0) ORDER BY ts`,
      [site, gridStart, now],
    );
    const names = new Map((await db.query<{ id: string; name: string | null }>('SELECT id, name FROM devices WHERE site = $1', [site])).map((d) => [d.id, d.name]));
    const commLossSlots = Math.ceil((config.settings.commLossMinutes * 60_000) / SLOT_MS);
    // The grid runs to a whole hour; what is measured so far ends at the horizon.
    const horizonSlot = Math.round((horizon - gridStart) / SLOT_MS);

    phases.readMs += Date.now() - phaseStart;
    phaseStart = Date.now();
    const eventsOf = new Map<string, typeof events>();
    for (const e of events) eventsOf.set(`${e.device}\u0000${e.metric}`, [...(eventsOf.get(`${e.device}\u0000${e.metric}`) ?? []), e]);
    const series: MeterSeries[] = [];
    const trailingGaps = new Map<string, number>();
    for (const ref of refs) {
      // A copy (spreading gaps below changes it), in buffers kept from run to run.
      const { values, flags } = this.workBuffers(site, ref.id, slots);
      values.set(consumption.get(ref.id)!);
      flags.fill(0);
      let first = -1;
      for (let s = 0; s < slots && first < 0; s++) if (!Number.isNaN(values[s]!)) first = s;
      const counterEvents: CounterEvent[] = [];
      for (const e of eventsOf.get(`${ref.device}\u0000${ref.metric}`) ?? []) {
        const slot = Math.floor((e.ts - 1 - gridStart) / SLOT_MS);
        if (slot < 0 || slot >= slots) continue;
        counterEvents.push({ slot, kind: (QUALITY_EVENT[e.quality] ?? 'reset') as CounterEvent['kind'], before: Number.NaN, after: e.value ?? Number.NaN });
        flags[slot]! |= SLOT_COUNTER_EVENT | SLOT_BAD;
      }
      // Rollups have no bucket while a meter is silent, then the whole step in the bucket of the first
      // reading after: spread it over the silence (marked), and note the gap.
      const gaps: MeterSeries['gaps'] = [];
      let missingFrom = -1;
      for (let s = Math.max(0, first); first >= 0 && s < horizonSlot; s++) {
        if (Number.isNaN(values[s]!)) {
          if (missingFrom < 0) missingFrom = s;
          continue;
        }
        if (missingFrom >= 0 && s - missingFrom >= commLossSlots) {
          const share = values[s]! / (s - missingFrom + 1);
          for (let k = missingFrom; k <= s; k++) {
            values[k] = share;
            flags[k]! |= SLOT_FILLED;
          }
          gaps.push({ fromSlot: missingFrom, endSlot: s, lastTs: gridStart + missingFrom * SLOT_MS, resumedTs: gridStart + (s + 1) * SLOT_MS });
        }
        missingFrom = -1;
      }
      if (first >= 0 && missingFrom >= 0 && horizonSlot - missingFrom >= commLossSlots) trailingGaps.set(ref.device, missingFrom);
      series.push({ meter: ref.device, kind: 'counter', unit: ref.unit, commodity: commodityOfUnit(ref.unit), values, flags, counterEvents, gaps });
    }

    const tree = new Map<string, string[]>();
    for (const [main, subs] of Object.entries(declared?.subMeters ?? {})) if (meters.has(main) && subs.every((s) => meters.has(s))) tree.set(main, subs);
    let byMeter = this.checkpoints.get(site);
    if (!byMeter) this.checkpoints.set(site, (byMeter = new Map()));
    const judgedFrom = horizon - config.reanalyseDays * 86_400_000;
    // Each meter's analysis takes up where the last run's stood an hour or two before the newest data
    // (when nothing before that changed: a late backlog replays that meter from the start) and leaves a
    // checkpoint there again, so a run costs the new hours, not the two months before them.
    const saveAt = Math.max(0, (Math.floor(horizonSlot / 4) - 1) * 4);
    const analyses = analyseSite(series, clock, config.settings, tree, { byMeter, saveAt });
    const tariff = new TariffTable(declared?.tariff);

    phases.analyseMs += Date.now() - phaseStart;
    phaseStart = Date.now();
    for (const meter of byMeter.keys()) if (!meters.has(meter)) byMeter.delete(meter);
    const workOfSite = this.work.get(site)!;
    for (const id of workOfSite.keys()) if (!consumption.has(id)) workOfSite.delete(id);
    const judged: { metric: string; finding: Finding }[] = [];
    const watched: unknown[][] = [[], [], [], [], [], []];
    let learning = 0;
    for (const analysis of analyses) {
      const device = analysis.series.meter;
      const ref = meters.get(device)!;
      const raws: RawFinding[] = [...analysis.findings];
      const silentFrom = trailingGaps.get(device);
      if (silentFrom !== undefined) {
        raws.push({ detector: 'comm_loss', fromSlot: silentFrom, toSlot: horizonSlot, ongoing: true, peakScore: (horizonSlot - silentFrom) / commLossSlots, variant: null, detail: { hours: (horizonSlot - silentFrom) / 4 } });
      }
      const ctx = { clock, tariff, label: names.get(device) ?? device };
      for (const r of raws) if (gridStart + r.toSlot * SLOT_MS >= judgedFrom) judged.push({ metric: ref.metric, finding: describeFinding(r, analysis, ctx) });
      if (analysis.learnedFromSlot === null) learning++;
      const columns = [device, ref.metric, ref.unit, analysis.historyDays, analysis.learnedFromSlot === null ? null : gridStart + analysis.learnedFromSlot * SLOT_MS, lastData(analysis, gridStart)];
      columns.forEach((value, i) => watched[i]!.push(value));
    }
    // One finding per meter, detector and start (the table's key): the last one found wins.
    const unique = [...new Map(judged.map((j) => [`${j.finding.meter}\u0000${j.metric}\u0000${j.finding.detector}\u0000${j.finding.start}`, j])).values()];
    // A few statements for the whole site, not a few per meter: a thousand meters are stored in tens of
    // milliseconds.
    await db.transaction(async (tx) => {
      // Findings starting in the re-judged window are replaced by this run's; older ones stay.
      await tx.query(
        `DELETE FROM findings f USING unnest($2::text[], $3::text[]) AS m (device, metric)
          WHERE f.site = $1 AND f.device = m.device AND f.metric = m.metric AND f.start_at >= to_timestamp($4 / 1000.0)
            AND (f.device, f.metric, f.detector, f.start_at) NOT IN (SELECT d, m, t, to_timestamp(s / 1000.0) FROM unnest($5::text[], $6::text[], $7::text[], $8::float8[]) AS k (d, m, t, s))`,
        [site, watched[0], watched[1], judgedFrom, unique.map((j) => j.finding.meter), unique.map((j) => j.metric), unique.map((j) => j.finding.detector), unique.map((j) => j.finding.start)],
      );
      for (let i = 0; i < unique.length; i += 500) await upsertFindings(tx, site, unique.slice(i, i + 500));
      await tx.query(
        `INSERT INTO detection_meters (site, device, metric, unit, history_days, learned_from, analysed_at, data_to)
           SELECT $1, device, metric, unit, history_days, to_timestamp(learned_from / 1000.0), to_timestamp($8 / 1000.0), to_timestamp(data_to / 1000.0)
             FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::float8[], $7::float8[]) AS m (device, metric, unit, history_days, learned_from, data_to)
         ON CONFLICT (site, device, metric) DO UPDATE SET unit = EXCLUDED.unit, history_days = EXCLUDED.history_days,
           learned_from = COALESCE(detection_meters.learned_from, EXCLUDED.learned_from), analysed_at = EXCLUDED.analysed_at, data_to = EXCLUDED.data_to`,
        [site, ...watched, now],
      );
    });
    const stored = unique.length;
    phases.storeMs += Date.now() - phaseStart;
    return { meters: analyses.length, learning, findings: stored };
  }
}

function lastData(analysis: MeterAnalysis, gridStart: number): number | null {
  for (let s = analysis.series.values.length - 1; s >= 0; s--) if (!Number.isNaN(analysis.series.values[s]!)) return gridStart + (s + 1) * SLOT_MS;
  return null;
}

async function upsertFindings(tx: { query: SqlClient['query'] }, site: string, judged: readonly { metric: string; finding: Finding }[]): Promise<void> {
  const rows = judged.map(({ metric, finding: f }) => ({
    device: f.meter,
    metric,
    detector: f.detector,
    variant: f.variant,
    start_at: f.start,
    end_at: f.end,
    ongoing: f.ongoing,
    unit: f.unit,
    commodity: f.commodity,
    actual: f.actual,
    expected: f.expected,
    expected_low: f.expectedLow,
    expected_high: f.expectedHigh,
    excess: f.excess,
    cost_cny: f.costCny,
    confidence: f.confidence,
    reason_en: f.reason.en,
    reason_zh: f.reason.zh,
    evidence: f.evidence,
  }));
  await tx.query(
    `INSERT INTO findings (site, device, metric, detector, variant, start_at, end_at, ongoing, unit, commodity, actual, expected, expected_low, expected_high,
                           excess, cost_cny, confidence, reason_en, reason_zh, evidence)
       SELECT $1, device, metric, detector, variant, to_timestamp(start_at / 1000.0), to_timestamp(end_at / 1000.0), ongoing, unit, commodity, actual, expected,
              expected_low, expected_high, excess, cost_cny, confidence, reason_en, reason_zh, evidence
         FROM jsonb_to_recordset($2::jsonb) AS x (device text, metric text, detector text, variant text, start_at float8, end_at float8, ongoing boolean, unit text,
              commodity text, actual float8, expected float8, expected_low float8, expected_high float8, excess float8, cost_cny float8, confidence float8,
              reason_en text, reason_zh text, evidence jsonb)
     ON CONFLICT (site, device, metric, detector, start_at) DO UPDATE SET
       variant = EXCLUDED.variant, end_at = EXCLUDED.end_at, ongoing = EXCLUDED.ongoing, actual = EXCLUDED.actual, expected = EXCLUDED.expected,
       expected_low = EXCLUDED.expected_low, expected_high = EXCLUDED.expected_high, excess = EXCLUDED.excess, cost_cny = EXCLUDED.cost_cny,
       confidence = EXCLUDED.confidence, reason_en = EXCLUDED.reason_en, reason_zh = EXCLUDED.reason_zh, evidence = EXCLUDED.evidence,
       updated_at = now()
     WHERE (findings.end_at, findings.ongoing, findings.reason_en) IS DISTINCT FROM (EXCLUDED.end_at, EXCLUDED.ongoing, EXCLUDED.reason_en)`,
    [site, JSON.stringify(rows)],
  );
}
