import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql-client.js';
import type { SeriesRef, TimeSeriesStore } from '../storage/time-series-store.js';
import type { DetectionConfig } from './detection-config.js';
import { describeFinding } from './finding-description.js';
import type { Finding } from './findings.js';
import type { MeterAnalysis, ProfileMemo, RawFinding } from './meter-analysis.js';
import { commodityOfUnit, SLOT_BAD, SLOT_COUNTER_EVENT, SLOT_FILLED, type CounterEvent, type MeterSeries } from './meter-series.js';
import { analyseSite } from './site-analysis.js';
import { TariffTable, type Tariff } from './tariff.js';
import { SLOT_MS, SlotClock, WorkCalendar } from './work-calendar.js';

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
 * Rollups are kept in memory between runs, and only what changed is read again (what this instance's
 * rollup refreshes report, and the newest quarter hours). Another instance's refreshes go unreported:
 * everything is read again this often.
 */
const FULL_RELOAD_MS = 60 * 60_000;

interface SiteRollups {
  gridStart: number;
  slots: number;
  horizon: number;
  loadedAt: number;
  /** 15-minute consumption per series id on the grid, NaN where no bucket */
  values: Map<number, Float64Array>;
}

/**
 * Runs the detectors on every site's meters from the 15-minute rollups, every `everyMs`: each run
 * re-judges the last `reanalyseDays` (so late or replayed data that changes a quarter hour changes the
 * findings), stores the findings with their evidence, and records each meter's learning state.
 */
export class DetectionService {
  private readonly calendar: WorkCalendar;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly now: () => number;
  private readonly cache = new Map<string, SiteRollups>();
  /** per site and meter, the baselines learned by earlier runs */
  private readonly memos = new Map<string, Map<string, ProfileMemo>>();
  /** per series id, the earliest bucket a rollup refresh changed since it was last read */
  private readonly changedFrom = new Map<number, number>();

  constructor(private readonly options: DetectionServiceOptions) {
    this.calendar = WorkCalendar.load(options.config.calendar);
    this.now = options.now ?? Date.now;
    options.timeSeries.onRollupsChanged((changes) => {
      for (const c of changes) this.changedFrom.set(c.seriesId, Math.min(this.changedFrom.get(c.seriesId) ?? Infinity, c.from));
    });
  }

  /**
   * The site's 15-minute consumption over [gridStart, horizon): from memory, with the buckets changed
   * since the last run and the newest ones read again; all of it on the first run, when the meters
   * change, and every FULL_RELOAD_MS.
   */
  private async rollupsOf(site: string, refs: readonly SeriesRef[], gridStart: number, slots: number, horizon: number): Promise<Map<number, Float64Array>> {
    // Wall-clock time: how stale the memory may be has nothing to do with the data's clock.
    const now = Date.now();
    let cached = this.cache.get(site);
    const sameMeters = cached !== undefined && cached.values.size === refs.length && refs.every((r) => cached!.values.has(r.id));
    let from = gridStart;
    if (cached && sameMeters && now - cached.loadedAt < FULL_RELOAD_MS && gridStart >= cached.gridStart) {
      // Slide the grid, then read again from the earliest change (or the last quarter hour read).
      const shift = Math.round((gridStart - cached.gridStart) / SLOT_MS);
      for (const [id, old] of cached.values) {
        const moved = new Float64Array(slots).fill(Number.NaN);
        moved.set(old.subarray(Math.min(shift, old.length), Math.min(old.length, shift + slots)));
        cached.values.set(id, moved);
      }
      from = cached.horizon - SLOT_MS;
      for (const r of refs) {
        const changed = this.changedFrom.get(r.id);
        if (changed !== undefined) from = Math.min(from, changed);
      }
      from = Math.max(gridStart, from);
      cached.gridStart = gridStart;
      cached.slots = slots;
    } else {
      cached = { gridStart, slots, horizon, loadedAt: now, values: new Map(refs.map((r) => [r.id, new Float64Array(slots).fill(Number.NaN)])) };
      this.cache.set(site, cached);
    }
    for (const r of refs) this.changedFrom.delete(r.id);
    const read = await this.options.timeSeries.readRollupField('15m', 'consumption', refs, from, horizon);
    const firstSlot = Math.round((from - gridStart) / SLOT_MS);
    for (const ref of refs) {
      const values = cached.values.get(ref.id)!;
      values.fill(Number.NaN, Math.max(0, firstSlot));
      for (const [ts, v] of read.get(ref.id) ?? []) {
        const slot = Math.round((ts - gridStart) / SLOT_MS);
        if (slot >= 0 && slot < slots && v !== null) values[slot] = v;
      }
    }
    cached.horizon = horizon;
    return cached.values;
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
      for (const site of sites) {
        const done = await this.runSite(site.id, site.time_zone, run.phases);
        run.sites++;
        run.meters += done.meters;
        run.learning += done.learning;
        run.findings += done.findings;
      }
      run.ms = Date.now() - started;
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
    const windowDays = config.settings.profileDays + config.reanalyseDays;
    // The grid starts at a UTC midnight: it moves once a day, so the baselines memo of earlier runs
    // (keyed by the range each day learned from) serves all day.
    const gridStart = Math.floor((horizon - windowDays * 86_400_000) / 86_400_000) * 86_400_000;
    const slots = Math.ceil((horizon - gridStart) / SLOT_MS / 4) * 4;
    const clock = new SlotClock(gridStart, slots, timeZone, this.calendar);
    const refs = [...meters.values()];
    let phaseStart = Date.now();
    const consumption = await this.rollupsOf(site, refs, gridStart, slots, horizon);
    const events = await db.query<{ device: string; metric: string; ts: number; quality: string; value: number | null }>(
      `SELECT device, metric, (extract(epoch from ts) * 1000)::float8 AS ts, quality, value FROM counter_events
        WHERE site = $1 AND ts > to_timestamp($2 / 1000.0) AND ts <= to_timestamp($3 / 1000.0) ORDER BY ts`,
      [site, gridStart, horizon],
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
      // A copy: spreading gaps below changes it.
      const values = Float64Array.from(consumption.get(ref.id)!);
      const flags = new Uint8Array(slots);
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
    let memos = this.memos.get(site);
    if (!memos) this.memos.set(site, (memos = new Map()));
    // Days that left the window are forgotten.
    for (const memo of memos.values()) for (const key of memo.keys()) if (Number(key.slice(0, key.indexOf(':'))) < gridStart) memo.delete(key);
    const analyses = analyseSite(series, clock, config.settings, tree, memos);
    const tariff = new TariffTable(declared?.tariff);
    const judgedFrom = horizon - config.reanalyseDays * 86_400_000;

    phases.analyseMs += Date.now() - phaseStart;
    phaseStart = Date.now();
    let stored = 0;
    let learning = 0;
    await db.transaction(async (tx) => {
      for (const analysis of analyses) {
        const device = analysis.series.meter;
        const ref = meters.get(device)!;
        const raws: RawFinding[] = [...analysis.findings];
        const silentFrom = trailingGaps.get(device);
        if (silentFrom !== undefined) {
          raws.push({ detector: 'comm_loss', fromSlot: silentFrom, toSlot: horizonSlot, ongoing: true, peakScore: (horizonSlot - silentFrom) / commLossSlots, variant: null, detail: { hours: (horizonSlot - silentFrom) / 4 } });
        }
        const ctx = { clock, tariff, label: names.get(device) ?? device };
        const findings: Finding[] = raws.filter((r) => gridStart + r.toSlot * SLOT_MS >= judgedFrom).map((r) => describeFinding(r, analysis, ctx));
        // Findings starting in the re-judged window are replaced by this run's; older ones stay.
        await tx.query(
          `DELETE FROM findings WHERE site = $1 AND device = $2 AND metric = $3 AND start_at >= to_timestamp($4 / 1000.0)
              AND NOT ((detector, start_at) IN (SELECT d, to_timestamp(s / 1000.0) FROM unnest($5::text[], $6::float8[]) AS x (d, s)))`,
          [site, device, ref.metric, judgedFrom, findings.map((f) => f.detector), findings.map((f) => f.start)],
        );
        for (const f of findings) await upsertFinding(tx, site, ref.metric, f);
        stored += findings.length;
        if (analysis.learnedFromSlot === null) learning++;
        await tx.query(
          `INSERT INTO detection_meters (site, device, metric, unit, history_days, learned_from, analysed_at, data_to)
             VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0), to_timestamp($7 / 1000.0), to_timestamp($8 / 1000.0))
           ON CONFLICT (site, device, metric) DO UPDATE SET unit = EXCLUDED.unit, history_days = EXCLUDED.history_days,
             learned_from = COALESCE(detection_meters.learned_from, EXCLUDED.learned_from), analysed_at = EXCLUDED.analysed_at, data_to = EXCLUDED.data_to`,
          [site, device, ref.metric, ref.unit, analysis.historyDays, analysis.learnedFromSlot === null ? null : gridStart + analysis.learnedFromSlot * SLOT_MS, now, lastData(analysis, gridStart)],
        );
      }
    });
    phases.storeMs += Date.now() - phaseStart;
    return { meters: analyses.length, learning, findings: stored };
  }
}

function lastData(analysis: MeterAnalysis, gridStart: number): number | null {
  for (let s = analysis.series.values.length - 1; s >= 0; s--) if (!Number.isNaN(analysis.series.values[s]!)) return gridStart + (s + 1) * SLOT_MS;
  return null;
}

async function upsertFinding(tx: { query: SqlClient['query'] }, site: string, metric: string, f: Finding): Promise<void> {
  await tx.query(
    `INSERT INTO findings (site, device, metric, detector, variant, start_at, end_at, ongoing, unit, commodity, actual, expected, expected_low, expected_high,
                           excess, cost_cny, confidence, reason_en, reason_zh, evidence)
       VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0), to_timestamp($7 / 1000.0), $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20::jsonb)
     ON CONFLICT (site, device, metric, detector, start_at) DO UPDATE SET
       variant = EXCLUDED.variant, end_at = EXCLUDED.end_at, ongoing = EXCLUDED.ongoing, actual = EXCLUDED.actual, expected = EXCLUDED.expected,
       expected_low = EXCLUDED.expected_low, expected_high = EXCLUDED.expected_high, excess = EXCLUDED.excess, cost_cny = EXCLUDED.cost_cny,
       confidence = EXCLUDED.confidence, reason_en = EXCLUDED.reason_en, reason_zh = EXCLUDED.reason_zh, evidence = EXCLUDED.evidence,
       updated_at = now()
     WHERE (findings.end_at, findings.ongoing, findings.reason_en) IS DISTINCT FROM (EXCLUDED.end_at, EXCLUDED.ongoing, EXCLUDED.reason_en)`,
    [site, f.meter, metric, f.detector, f.variant, f.start, f.end, f.ongoing, f.unit, f.commodity, f.actual, f.expected, f.expectedLow, f.expectedHigh, f.excess, f.costCny, f.confidence, f.reason.en, f.reason.zh, JSON.stringify(f.evidence)],
  );
}
