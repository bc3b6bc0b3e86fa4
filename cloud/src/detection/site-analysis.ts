import type { DetectionOptions } from './detection-options.js';
import { detectorCode } from './findings.js';
import type { AnalysisCheckpoint } from './analysis-checkpoint.js';
import { analyseMeter, hourlySums, type CheckpointOptions, type MeterAnalysis } from './meter-analysis.js';
import type { MeterSeries } from './meter-series.js';
import { MAD_TO_SIGMA, medianAndMad } from './robust.js';
import type { SlotClock } from './work-calendar.js';

/** Which meters a main meter feeds: the sum of the sub-meters should follow the main meter. */
export type MeterTree = ReadonlyMap<string, readonly string[]>;

/**
 * Analyses the meters of one site on one clock: each meter on its own, then what needs its siblings (a
 * stuck meter is one that stops while the others go on; a main meter is checked against its sub-meters).
 */
/**
 * Live runs keep each meter's checkpoint here: taken up where it still holds, replaced by one taken at
 * `saveAt`.
 */
export interface SiteCheckpoints {
  byMeter: Map<string, AnalysisCheckpoint>;
  saveAt: number;
}

export function analyseSite(series: readonly MeterSeries[], clock: SlotClock, options: DetectionOptions, tree: MeterTree = new Map(), checkpoints?: SiteCheckpoints): MeterAnalysis[] {
  const activity = siteActivity(series, clock.slots);
  const analyses = series.map((s) => {
    const analysis = analyseMeterInSite(s, clock, options, activity, checkpoints && { resume: checkpoints.byMeter.get(s.meter), saveAt: checkpoints.saveAt });
    if (checkpoints) {
      if (analysis.checkpoint) checkpoints.byMeter.set(s.meter, analysis.checkpoint);
      else checkpoints.byMeter.delete(s.meter);
      analysis.checkpoint = undefined;
    }
    return analysis;
  });
  const byMeter = new Map(analyses.map((a) => [a.series.meter, a]));
  for (const [main, subs] of tree) {
    const mainAnalysis = byMeter.get(main);
    const subAnalyses = subs.map((s) => byMeter.get(s)).filter((a): a is MeterAnalysis => a !== undefined);
    if (mainAnalysis && subAnalyses.length === subs.length && subs.length > 0) checkMainAgainstSubs(mainAnalysis, subAnalyses, options);
  }
  return analyses;
}

/** Per commodity and slot: how many counters measured something, and how many of them moved. */
export type SiteActivity = Map<string, { measured: Uint16Array; moving: Uint16Array }>;

export function siteActivity(series: readonly MeterSeries[], slots: number): SiteActivity {
  const activity: SiteActivity = new Map();
  for (const s of series) addToActivity(activity, s, slots);
  return activity;
}

export function addToActivity(activity: SiteActivity, series: MeterSeries, slots: number): void {
  if (series.kind !== 'counter') return;
  let entry = activity.get(series.commodity);
  if (!entry) activity.set(series.commodity, (entry = { measured: new Uint16Array(slots), moving: new Uint16Array(slots) }));
  for (let s = 0; s < slots; s++) {
    const v = series.values[s]!;
    if (Number.isNaN(v)) continue;
    entry.measured[s]!++;
    if (v > 0) entry.moving[s]!++;
  }
}

/** One meter analysed, its stuck findings checked against its siblings in `activity` (which counts it too). */
export function analyseMeterInSite(series: MeterSeries, clock: SlotClock, options: DetectionOptions, activity: SiteActivity, checkpoints?: CheckpointOptions): MeterAnalysis {
  const holidays = (day: number) => clock.calendar.holidayOf(day) !== undefined;
  const analysis = analyseMeter(series, clock, options, holidays, checkpoints);
  dropSiteWideStops(analysis, activity);
  return analysis;
}

/**
 * A counter that stops while most of its siblings stop too is a site-wide outage (a power cut, the water
 * shut off), not a stuck meter: its stuck finding goes. Without siblings it stays.
 */
function dropSiteWideStops(analysis: MeterAnalysis, activity: SiteActivity): void {
  const entry = activity.get(analysis.series.commodity);
  if (!entry || analysis.series.kind !== 'counter') return;
  const stuckCode = detectorCode('stuck');
  analysis.findings = analysis.findings.filter((f) => {
    if (f.detector !== 'stuck') return true;
    let measuredSlots = 0;
    let movingShare = 0;
    for (let s = Math.max(0, f.fromSlot); s < f.toSlot; s++) {
      // The siblings: everyone measured in this slot but this meter (which stood still).
      const self = Number.isNaN(analysis.series.values[s]!) ? 0 : 1;
      const measured = entry.measured[s]! - self;
      if (measured <= 0) continue;
      const moving = entry.moving[s]! - (self && analysis.series.values[s]! > 0 ? 1 : 0);
      measuredSlots++;
      movingShare += moving / measured;
    }
    if (measuredSlots === 0 || movingShare / measuredSlots >= 0.5) return true;
    for (let s = Math.max(0, f.fromSlot); s < f.toSlot; s++) if (analysis.detector[s] === stuckCode) analysis.detector[s] = 0;
    return false;
  });
}

/**
 * Main against sub-meters: the share of the main meter's consumption that no sub-meter accounts for
 * (losses, common areas) is steady; when its average over `mainSub.hours` strays from the usual share
 * by more than the tolerance, something is unmetered, bypassed or a sub-meter reads wrong.
 */
export function checkMainAgainstSubs(main: MeterAnalysis, subs: MeterAnalysis[], options: DetectionOptions): void {
  const mainHourly = hourlySums(main.series);
  const subHourly = subs.map((s) => hourlySums(s.series));
  const hours = mainHourly.length;
  const share = new Float64Array(hours).fill(Number.NaN);
  for (let h = 0; h < hours; h++) {
    const m = mainHourly[h]!;
    if (!(m > 0)) continue;
    let sum = 0;
    for (const sub of subHourly) sum += sub[h]!;
    if (!Number.isNaN(sum)) share[h] = (m - sum) / m;
  }
  const window = options.mainSub.hours;
  const referenceHours = 14 * 24;
  const excluded = new Uint8Array(hours);
  const scratch = new Float64Array(referenceHours);
  const code = detectorCode('main_sub');
  let episode: { start: number; lastHit: number; peak: number; excess: number; sign: number } | undefined;
  let reference = { median: Number.NaN, spread: Number.NaN };
  const close = (ongoing: boolean) => {
    if (!episode) return;
    if (episode.lastHit - episode.start + 1 >= window) {
      main.findings.push({
        detector: 'main_sub',
        fromSlot: episode.start * 4,
        toSlot: (episode.lastHit + 1) * 4,
        ongoing,
        peakScore: episode.peak,
        variant: episode.sign > 0 ? 'main_above_subs' : 'main_below_subs',
        detail: { usualShare: reference.median, excess: episode.excess },
      });
      for (let s = episode.start * 4; s < (episode.lastHit + 1) * 4; s++) {
        if (main.detector[s] === 0 || main.detector[s] === detectorCode('baseline') || main.detector[s] === detectorCode('level_shift')) main.detector[s] = code;
        main.score[s] = Math.max(main.score[s]!, Math.min(99, episode.peak));
      }
      for (let h = episode.start; h <= episode.lastHit; h++) excluded[h] = 1;
    }
    episode = undefined;
  };
  for (let h = 0; h < hours; h++) {
    if (h % 24 === 0) {
      // The usual share, re-learned once a day from the last two weeks.
      let n = 0;
      for (let k = h - 1; k >= Math.max(0, h - referenceHours); k--) if (!Number.isNaN(share[k]!) && excluded[k] === 0) scratch[n++] = share[k]!;
      if (n >= 7 * 24) {
        const { median, mad } = medianAndMad(scratch, n);
        reference = { median, spread: mad * MAD_TO_SIGMA };
      }
    }
    if (Number.isNaN(reference.median)) continue;
    let sum = 0;
    let n = 0;
    let mainSum = 0;
    for (let k = Math.max(0, h - window + 1); k <= h; k++) {
      if (Number.isNaN(share[k]!)) continue;
      sum += share[k]!;
      mainSum += mainHourly[k]!;
      n++;
    }
    if (n < Math.ceil((window * 2) / 3)) continue;
    const deviation = sum / n - reference.median;
    const threshold = Math.max(options.mainSub.tolerance, (4 * reference.spread) / Math.sqrt(window));
    const z = Math.abs(deviation) / threshold;
    for (let s = h * 4; s < h * 4 + 4; s++) main.score[s] = Math.max(main.score[s]!, Math.min(99, z));
    if (z > 1) {
      const start = episode ? episode.start : Math.max(0, h - window + 1);
      if (!episode) episode = { start, lastHit: h, peak: z, excess: 0, sign: Math.sign(deviation) };
      episode.lastHit = h;
      episode.peak = Math.max(episode.peak, z);
      episode.excess += Math.abs(deviation) * (mainSum / n);
    } else if (episode && h - episode.lastHit >= 2) {
      close(false);
    }
  }
  close(true);
  main.findings.sort((a, b) => a.fromSlot - b.fromSlot);
}
