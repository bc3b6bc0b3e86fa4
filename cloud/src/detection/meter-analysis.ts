import { copyOutputs, outputsFor, resumableSlot, seriesDayHashes, type AnalysisCheckpoint } from './analysis-checkpoint.js';
import type { DetectionOptions } from './detection-options.js';
import { detectorCode, type DetectorName } from './findings.js';
import { SLOT_BAD, SLOT_FILLED, type MeterSeries } from './meter-series.js';
import { MAD_TO_SIGMA, medianAndMad, medianInPlace } from './robust.js';
import { REST_DAY, SATURDAY, SLOT_MS, WORKDAY, type SlotClock } from './work-calendar.js';

/** A finding as the detectors see it: slots [fromSlot, toSlot) of one meter. */
export interface RawFinding {
  detector: DetectorName;
  fromSlot: number;
  toSlot: number;
  /** still going on at the last slot analysed */
  ongoing: boolean;
  /** the strongest score over the finding (1 = at the threshold) */
  peakScore: number;
  variant: string | null;
  /** detector-specific figures the description uses */
  detail: Record<string, number>;
}

/** One meter analysed: the expected band per slot, a score per slot, and its findings. */
export interface MeterAnalysis {
  series: MeterSeries;
  /** expected consumption per slot and half-width of its band; NaN before the baseline is learned */
  expected: Float64Array;
  band: Float64Array;
  /** 0 = normal … ≥ 1 beyond a threshold */
  score: Float32Array;
  /** detector code (findings.ts) of the finding covering each slot, 0 for none */
  detector: Uint8Array;
  findings: RawFinding[];
  /** first slot with a trusted baseline, or null while the meter is still learning */
  learnedFromSlot: number | null;
  /** measured days so far (at least 20 hours with data) */
  historyDays: number;
  /** where the analysis stood at the slot asked for, for the next run to take up */
  checkpoint?: AnalysisCheckpoint;
  /** the slot an earlier run's checkpoint was taken up at; 0 when analysed from the start */
  resumedFromSlot?: number;
}

/** Live runs: take up an earlier run's checkpoint where it still holds, and leave one for the next. */
export interface CheckpointOptions {
  /** taken up if it still holds for this series and grid, and then used up */
  resume?: AnalysisCheckpoint;
  /** the slot (a whole hour) to leave a checkpoint at */
  saveAt?: number;
}

/** What analyseMeter carries from hour to hour (a checkpoint's state). */
interface CarriedState {
  excluded: Uint8Array;
  profile: Float64Array;
  sigma: Float64Array;
  stillShare: Float64Array;
  sampleCount: Int32Array;
  peakHour: number;
  relearnAll: boolean;
  dayRatios: { day: number; ratio: number }[];
  level: number;
  levelOverride: { value: number; untilDay: number } | undefined;
  nights: { day: number; min: number; high: boolean }[];
  nightEpisode: { startNight: number; nights: number[]; peak: number } | undefined;
  up: Episode | undefined;
  down: Episode | undefined;
  stillRun: { start: number; unexpected: number } | undefined;
  historyDays: number;
  learnedFromSlot: number | null;
  currentDay: number;
  dayValidHours: number;
  dayStartHour: number;
  activeShift: ActiveShift | undefined;
  /** a two-slot spike found at the end of the hour before marks the first slot of the next one */
  spill: { slot: number; score: number } | undefined;
  findings: RawFinding[];
}

interface ActiveShift {
  finding: RawFinding;
  before: number;
  direction: 'up' | 'down';
  sinceDay: number;
}

const CELLS = 3 * 24;
/** An hour below this share of its expectation is low; half a day of mostly low hours, summing below SHIFT_DOWN_LEVEL, is a shift down. */
const SHIFT_DOWN_RATIO = 0.7;
const SHIFT_DOWN_LEVEL = 0.65;
const MIN_CELL_SAMPLES = 3;
/**
 * Where a rest-day kind has too few days yet (a new meter), it borrows the other rest-day kind's shape;
 * never a working day's, which would make every weekend an anomaly (and, never learned from, for ever).
 */
const FALLBACK: Record<number, number[]> = { [WORKDAY]: [], [SATURDAY]: [REST_DAY], [REST_DAY]: [SATURDAY] };

/** Detector priority for the one label a slot gets (the most specific explanation wins). */
const PRIORITY: DetectorName[] = ['counter_reset', 'comm_loss', 'stuck', 'spike', 'leak', 'base_load', 'main_sub', 'level_shift', 'baseline'];
/** Rank of each detector code (findings.ts) by PRIORITY, higher first; 0 for none. */
export const DETECTOR_RANK = new Uint8Array(16);
PRIORITY.forEach((name, i) => (DETECTOR_RANK[detectorCode(name)] = PRIORITY.length - i));

/** Consumption of each whole hour of a series' grid; NaN where a slot is missing, bad or spread over a gap. */
export function hourlySums(series: MeterSeries): Float64Array {
  const hours = Math.floor(series.values.length / 4);
  const out = new Float64Array(hours);
  for (let h = 0; h < hours; h++) {
    let sum = 0;
    for (let s = h * 4; s < h * 4 + 4; s++) {
      const v = series.values[s]!;
      if (Number.isNaN(v) || (series.flags[s]! & (SLOT_BAD | SLOT_FILLED)) !== 0) {
        sum = Number.NaN;
        break;
      }
      sum += v;
    }
    out[h] = sum;
  }
  return out;
}

interface Episode {
  start: number; // hour
  lastHit: number;
  hits: number;
  /** hours where the test applied, and their measured and expected sums (shortfalls only) */
  applicable?: number;
  actualSum?: number;
  expectedSum?: number;
  scoreSum: number;
  peak: number;
  ratios: number[];
}

/** The hours and local days of a clock, shared by every meter analysed on it. */
interface HourGrid {
  /** per hour, its baseline cell (day kind × local hour) */
  cellOfHour: Uint8Array;
  /** the first hour and the kind of each local day (and the grid's end), so that learning a kind visits its days only */
  dayStartHours: number[];
  dayKinds: number[];
  dayIndexOfHour: Int32Array;
}

const hourGrids = new WeakMap<SlotClock, HourGrid>();

function hourGridOf(clock: SlotClock): HourGrid {
  const known = hourGrids.get(clock);
  if (known) return known;
  const hours = Math.floor(clock.slots / 4);
  const cellOfHour = new Uint8Array(hours);
  const dayStartHours: number[] = [];
  const dayKinds: number[] = [];
  for (let h = 0; h < hours; h++) {
    cellOfHour[h] = clock.kind[h * 4]! * 24 + clock.hour[h * 4]!;
    if (h === 0 || clock.day[h * 4] !== clock.day[h * 4 - 4]) {
      dayStartHours.push(h);
      dayKinds.push(clock.kind[h * 4]!);
    }
  }
  dayStartHours.push(hours);
  const dayIndexOfHour = new Int32Array(hours);
  for (let d = 0; d < dayStartHours.length - 1; d++) dayIndexOfHour.fill(d, dayStartHours[d]!, dayStartHours[d + 1]!);
  const grid = { cellOfHour, dayStartHours, dayKinds, dayIndexOfHour };
  hourGrids.set(clock, grid);
  return grid;
}

/**
 * Runs every single-meter detector over one meter's slots, in time order, each hour judged only on what
 * came before it (as it would be live): the baseline is re-learned at each local midnight from the
 * preceding weeks, and hours already found anomalous are never learned from.
 */
export function analyseMeter(series: MeterSeries, clock: SlotClock, options: DetectionOptions, holidays: (day: number) => boolean, checkpoints: CheckpointOptions = {}): MeterAnalysis {
  const slots = clock.slots;
  const values = series.values;
  const flags = series.flags;
  const hours = Math.floor(slots / 4);
  // Taking up a checkpoint, if it still holds: where this analysis starts. A checkpoint serves once: its
  // state becomes this analysis' own (it is not copied), and its buffers hold this analysis' outputs and
  // the checkpoint it leaves.
  const taken = checkpoints.resume?.state !== undefined ? checkpoints.resume : undefined;
  const takenState = taken?.state as CarriedState | undefined;
  if (taken) taken.state = undefined;
  const from = taken && resumableSlot(taken, series, clock.start) !== undefined ? taken : undefined;
  const resumeSlot = from ? from.slot - (clock.start - from.gridStart) / SLOT_MS : 0;
  const outputs = outputsFor(slots, taken?.spare);
  const { expected, band, score, detector } = outputs;
  if (from) copyOutputs(from.saved, from.slot - resumeSlot, resumeSlot, outputs);
  expected.fill(Number.NaN, resumeSlot);
  band.fill(Number.NaN, resumeSlot);
  score.fill(0, resumeSlot);
  detector.fill(0, resumeSlot);
  let findings: RawFinding[] = [];
  const isWater = series.commodity === 'water';
  const isCounter = series.kind === 'counter';

  // Hourly sums of clean slots (NaN where a slot is missing, bad or spread over a gap).
  const hourly = hourlySums(series);
  const excluded = new Uint8Array(hours);
  // Per hour: how many of its slots stood still (no consumption on a counter, no change on a gauge).
  const stillSlots = new Uint8Array(hours);
  if (isCounter) {
    for (let s = 0; s < hours * 4; s++) if (values[s] === 0) stillSlots[s >> 2]!++;
  } else {
    for (let s = 1; s < hours * 4; s++) if (values[s] === values[s - 1]) stillSlots[s >> 2]!++;
  }
  const hourKind = (h: number) => clock.kind[h * 4]!;
  const hourOfDay = (h: number) => clock.hour[h * 4]!;
  const dayOf = (h: number) => clock.day[h * 4]!;
  const { cellOfHour, dayStartHours, dayKinds, dayIndexOfHour } = hourGridOf(clock);

  const mark = (name: DetectorName, from: number, to: number, slotScore: number) => {
    const code = detectorCode(name);
    for (let s = Math.max(0, from); s < Math.min(to, slots); s++) {
      if (DETECTOR_RANK[code]! > DETECTOR_RANK[detector[s]!]!) detector[s] = code;
      if (slotScore > score[s]!) score[s] = slotScore;
    }
  };
  // Set when hours already learned from are found anomalous: the whole baseline is re-learned.
  let relearnAll = true;
  const excludeHours = (fromSlot: number, toSlot: number) => {
    for (let h = Math.max(0, Math.floor(fromSlot / 4)); h < Math.ceil(toSlot / 4) && h < hours; h++) excluded[h] = 1;
    relearnAll = true;
  };

  // The baseline: per day kind and local hour, median and spread of the hourly consumption.
  let profile: Float64Array = new Float64Array(CELLS).fill(Number.NaN);
  let sigma: Float64Array = new Float64Array(CELLS).fill(Number.NaN);
  // Share of slots that read no consumption (a counter standing still) or no change (a frozen gauge).
  let stillShare: Float64Array = new Float64Array(CELLS).fill(1);
  const samples = new Float64Array(CELLS * options.profileWorkdays);
  let sampleCount: Int32Array = new Int32Array(CELLS);
  const stillCount = new Int32Array(CELLS);
  const slotCount = new Int32Array(CELLS);
  let peakHour = Number.NaN;
  const scratch = new Float64Array(Math.max(64, options.profileDays));

  /**
   * Re-learns the cells of the day kinds in `kinds` (a bit set): each day only the kind of the day
   * that just ended has new samples, unless hours were found anomalous since (then every kind).
   */
  const learnProfile = (h0: number, kinds: number) => {
    for (let cell = 0; cell < CELLS; cell++) {
      if ((kinds & (1 << Math.floor(cell / 24))) === 0) continue;
      sampleCount[cell] = 0;
      stillCount[cell] = 0;
      slotCount[cell] = 0;
    }
    const stop = Math.max(0, h0 - options.profileDays * 24);
    // Newest days first, each kind's own days only, until every cell of the kinds has its samples.
    const workdayCap = options.profileWorkdays;
    const restCap = options.profileRestDays;
    let cellsToFill = 0;
    for (let k = 0; k < 3; k++) if ((kinds & (1 << k)) !== 0) cellsToFill += 24;
    let day = dayIndexOfHour[Math.max(0, h0 - 1)]!;
    if (dayStartHours[day]! >= h0) day--;
    for (; day >= 0 && cellsToFill > 0 && dayStartHours[day + 1]! > stop; day--) {
      if ((kinds & (1 << dayKinds[day]!)) === 0) continue;
      const dayEnd = Math.min(dayStartHours[day + 1]!, h0);
      const first = Math.max(dayStartHours[day]!, stop);
      for (let h = dayEnd - 1; h >= first; h--) {
        const v = hourly[h]!;
        if (v !== v || excluded[h] === 1) continue;
        const cell = cellOfHour[h]!;
        const count = sampleCount[cell]!;
        const cap = cell < 24 ? workdayCap : restCap;
        if (count >= cap) continue;
        samples[cell * workdayCap + count] = v;
        sampleCount[cell] = count + 1;
        if (count + 1 === cap) cellsToFill--;
        slotCount[cell]! += 4;
        stillCount[cell]! += stillSlots[h]!;
      }
    }
    for (let cell = 0; cell < CELLS; cell++) {
      if ((kinds & (1 << Math.floor(cell / 24))) === 0) continue;
      const n = sampleCount[cell]!;
      if (n < MIN_CELL_SAMPLES) {
        profile[cell] = Number.NaN;
        continue;
      }
      const { median, mad } = medianAndMad(samples, n, cell * options.profileWorkdays);
      profile[cell] = median;
      sigma[cell] = mad * MAD_TO_SIGMA;
      stillShare[cell] = stillCount[cell]! / slotCount[cell]!;
    }
    for (let cell = 0; cell < CELLS; cell++) {
      if (!Number.isNaN(profile[cell]!)) continue;
      const kind = Math.floor(cell / 24);
      for (const other of FALLBACK[kind]!) {
        const from = other * 24 + (cell % 24);
        if (sampleCount[from]! >= MIN_CELL_SAMPLES) {
          profile[cell] = profile[from]!;
          sigma[cell] = sigma[from]!;
          stillShare[cell] = stillShare[from]!;
          break;
        }
      }
    }
    peakHour = 0;
    for (let cell = 0; cell < CELLS; cell++) if (profile[cell]! > peakHour) peakHour = profile[cell]!;
  };

  // Drift: the ratio of measured to baseline over the last few ordinary days (holidays left out).
  let dayRatios: { day: number; ratio: number }[] = [];
  let level = 1;
  let levelOverride: { value: number; untilDay: number } | undefined;

  // Night minima for the base-load and leak detectors.
  const nightWindow = isWater ? options.leak.nightHours : options.baseLoad.nightHours;
  let nights: { day: number; min: number; high: boolean }[] = [];
  let nightEpisode: { startNight: number; nights: number[]; peak: number } | undefined;

  let up: Episode | undefined;
  let down: Episode | undefined;
  let stillRun: { start: number; unexpected: number } | undefined;
  let historyDays = 0;
  let learnedFromSlot: number | null = null;
  let currentDay = Number.NaN;
  let dayValidHours = 0;
  let dayStartHour = 0;

  const finishEpisode = (episode: Episode, name: DetectorName, variant: string | null, endHour: number, ongoing: boolean) => {
    const fromSlot = episode.start * 4;
    const toSlot = endHour * 4;
    findings.push({ detector: name, fromSlot, toSlot, ongoing, peakScore: episode.peak, variant, detail: { hours: endHour - episode.start, meanScore: episode.scoreSum / Math.max(1, episode.hits) } });
    mark(name, fromSlot, toSlot, Math.max(1, episode.peak));
    excludeHours(fromSlot, toSlot);
  };

  /**
   * A shift lasting levelShiftHours: the baseline moves to the new level at once. A shift back to where
   * the meter was before an earlier shift is that problem ending: its finding grows to the return
   * instead of a second finding being raised.
   */
  let activeShift: ActiveShift | undefined;
  const confirmShift = (episode: Episode, direction: 'up' | 'down', h: number, day: number) => {
    const newLevel = Math.min(3, Math.max(0.3, median(episode.ratios, scratch)));
    const returning = activeShift && activeShift.direction !== direction && day - activeShift.sinceDay <= 14 && Math.abs(newLevel / activeShift.before - 1) < 0.3;
    if (activeShift && returning) {
      const finding = activeShift.finding;
      finding.toSlot = episode.start * 4;
      finding.detail.hours = (finding.toSlot - finding.fromSlot) / 4;
      mark('level_shift', finding.fromSlot, episode.start * 4 + 4, Math.max(1, finding.peakScore));
      excludeHours(finding.fromSlot, h * 4 + 4);
      activeShift = undefined;
    } else {
      const before = level;
      finishEpisode(episode, 'level_shift', direction, h + 1, false);
      activeShift = { finding: findings[findings.length - 1]!, before, direction, sinceDay: day };
    }
    levelOverride = { value: newLevel, untilDay: day + options.levelDays + 1 };
    level = newLevel;
  };

  const closeDay = (day: number, dayStartHour: number, endHour: number) => {
    if (dayValidHours >= 20) historyDays++;
    // The day's level against the baseline, from its ordinary hours only: hours found anomalous since
    // (a stuck run, a shift) and a run of standing still not yet judged are left out.
    if (learnedFromSlot !== null && !holidays(day)) {
      let sum = 0;
      let expectedSum = 0;
      let counted = 0;
      for (let h = dayStartHour; h < endHour; h++) {
        const cell = hourKind(h) * 24 + hourOfDay(h);
        if (Number.isNaN(hourly[h]!) || excluded[h] === 1 || Number.isNaN(profile[cell]!) || (stillRun && h * 4 + 4 > stillRun.start)) continue;
        sum += hourly[h]!;
        expectedSum += profile[cell]!;
        counted++;
      }
      if (counted >= 12 && expectedSum > 0) dayRatios.push({ day, ratio: sum / expectedSum });
    }
    dayValidHours = 0;
  };

  const startDay = (h: number, day: number) => {
    if (historyDays >= options.minHistoryDays) {
      learnProfile(h, relearnAll || h === 0 ? 7 : 1 << hourKind(h - 1));
      relearnAll = false;
      if (learnedFromSlot === null) learnedFromSlot = h * 4;
      const recent = dayRatios.slice(-options.levelDays);
      for (let i = 0; i < recent.length; i++) scratch[i] = recent[i]!.ratio;
      level = recent.length > 0 ? Math.min(2, Math.max(0.5, medianInPlace(scratch, recent.length))) : 1;
      if (levelOverride && day < levelOverride.untilDay) level = levelOverride.value;
    }
  };

  const judgeNight = (day: number, endHour: number) => {
    // The lowest clean hour of the night window that just ended.
    let min = Infinity;
    let seen = 0;
    for (let h = endHour - (nightWindow[1] - nightWindow[0]); h < endHour; h++) {
      if (h < 0 || Number.isNaN(hourly[h]!) || dayOf(h) !== day) continue;
      seen++;
      if (hourly[h]! < min) min = hourly[h]!;
    }
    if (seen < Math.ceil((nightWindow[1] - nightWindow[0]) / 2) || learnedFromSlot === null) return;
    const reference = nights.filter((n) => !n.high).slice(-14);
    if (reference.length < 7) {
      nights.push({ day, min, high: false });
      return;
    }
    for (let i = 0; i < reference.length; i++) scratch[i] = reference[i]!.min;
    const { median, mad } = medianAndMad(scratch, reference.length);
    const spread = mad * MAD_TO_SIGMA;
    const threshold = isWater
      ? median + Math.max(options.leak.sigmas * spread, options.leak.fractionOfPeak * peakHour)
      : median + Math.max(options.baseLoad.sigmas * spread, options.baseLoad.relative * median, 0.02 * peakHour);
    const high = min > threshold;
    const nightStartSlot = (endHour - (nightWindow[1] - nightWindow[0])) * 4;
    const nightScore = threshold > median ? (min - median) / (threshold - median) : 0;
    nights.push({ day, min, high });
    const needed = isWater ? options.leak.nights : options.baseLoad.nights;
    const name: DetectorName = isWater ? 'leak' : 'base_load';
    const windowSlots = (nightWindow[1] - nightWindow[0]) * 4;
    if (!high) {
      nightEpisode = undefined;
      const existing = findings.find((f) => f.detector === name && f.ongoing);
      if (existing) existing.ongoing = false;
      return;
    }
    if (!nightEpisode) nightEpisode = { startNight: nightStartSlot, nights: [], peak: 0 };
    nightEpisode.nights.push(nightStartSlot);
    nightEpisode.peak = Math.max(nightEpisode.peak, nightScore);
    if (nightEpisode.nights.length < needed) return;
    // Confirmed: every high night of the episode so far is part of the finding.
    for (const start of nightEpisode.nights) {
      mark(name, start, start + windowSlots, Math.max(1, nightScore));
      excludeHours(start, start + windowSlots);
    }
    nightEpisode.nights = [];
    const existing = findings.find((f) => f.detector === name && f.ongoing);
    if (existing) {
      existing.toSlot = nightStartSlot + windowSlots;
      existing.peakScore = Math.max(existing.peakScore, nightScore);
      existing.detail.nights = (existing.detail.nights ?? 0) + 1;
      existing.detail.nightMin = min;
    } else {
      findings.push({ detector: name, fromSlot: nightEpisode.startNight, toSlot: nightStartSlot + windowSlots, ongoing: true, peakScore: nightEpisode.peak, variant: null, detail: { nights: needed, nightMin: min, usualNightMin: median } });
    }
  };

  let spill: CarriedState['spill'];
  const carried = (): CarriedState => ({
    excluded, profile, sigma, stillShare, sampleCount, peakHour, relearnAll, dayRatios, level, levelOverride, nights, nightEpisode,
    up, down, stillRun, historyDays, learnedFromSlot, currentDay, dayValidHours, dayStartHour, activeShift, spill, findings,
  });
  const capture = (slot: number): AnalysisCheckpoint => {
    const saved = outputsFor(slot, taken?.saved);
    copyOutputs(outputs, 0, slot, saved);
    return {
      gridStart: clock.start,
      slot,
      dayHashes: seriesDayHashes(series, slot),
      saved,
      spare: outputs,
      state: copyState({ ...carried(), excluded: excluded.subarray(0, slot / 4) }, options),
    };
  };

  // The checkpoint's state, moved to this grid (which may start whole days later).
  if (from) {
    const shift = from.slot - resumeSlot;
    const state = takenState!;
    shiftState(state, shift);
    excluded.set(state.excluded);
    ({ profile, sigma, stillShare, sampleCount, peakHour, relearnAll, dayRatios, level, levelOverride, nights, nightEpisode } = state);
    ({ up, down, stillRun, historyDays, learnedFromSlot, currentDay, dayValidHours, dayStartHour, activeShift, spill } = state);
    // Counter events and gaps after the checkpoint are this run's own (late data may have filled a gap).
    findings = state.findings.filter((f) => f.fromSlot < resumeSlot || (f.detector !== 'counter_reset' && f.detector !== 'comm_loss'));
    if (spill && spill.slot === resumeSlot) mark('spike', spill.slot, spill.slot + 1, spill.score);
  }

  // Facts that need no baseline: counter events and communication gaps (all of them before the first
  // hour is judged, as they are facts, not judgements; after the checkpoint only when resuming).
  for (const event of series.counterEvents) {
    if (event.slot < resumeSlot) continue;
    findings.push({ detector: 'counter_reset', fromSlot: event.slot, toSlot: event.slot + 1, ongoing: false, peakScore: 10, variant: event.kind, detail: { before: event.before, after: event.after } });
    mark('counter_reset', event.slot, event.slot + 1, 10);
  }
  for (const gap of series.gaps) {
    if (gap.endSlot < resumeSlot) continue;
    const gapHours = (gap.resumedTs - gap.lastTs) / 3_600_000;
    const slotScore = Math.min(99, gapHours / (options.commLossMinutes / 60));
    if (gap.fromSlot >= resumeSlot) findings.push({ detector: 'comm_loss', fromSlot: gap.fromSlot, toSlot: gap.endSlot + 1, ongoing: false, peakScore: slotScore, variant: null, detail: { hours: gapHours } });
    mark('comm_loss', gap.endSlot, gap.endSlot + 1, slotScore);
    // Not excludeHours: nothing learned so far changes (resuming, the gap's hours before the checkpoint
    // are excluded already; from the start, everything is learned afresh anyway).
    for (let h = Math.floor(gap.fromSlot / 4); h < Math.ceil((gap.endSlot + 1) / 4) && h < hours; h++) excluded[h] = 1;
  }

  let checkpoint: AnalysisCheckpoint | undefined;
  const saveAt = checkpoints.saveAt !== undefined && checkpoints.saveAt >= resumeSlot && checkpoints.saveAt % 4 === 0 ? checkpoints.saveAt : undefined;
  for (let h = resumeSlot / 4; h < hours; h++) {
    if (h * 4 === saveAt) checkpoint = capture(saveAt);
    spill = undefined;
    const day = dayOf(h);
    if (day !== currentDay) {
      if (!Number.isNaN(currentDay)) closeDay(currentDay, dayStartHour, h);
      currentDay = day;
      dayStartHour = h;
      startDay(h, day);
    }
    const hod = hourOfDay(h);
    if (hod === nightWindow[1] % 24 && h > 0) judgeNight(dayOf(h - 1), h);

    const cell = hourKind(h) * 24 + hod;
    const learned = learnedFromSlot !== null && !Number.isNaN(profile[cell]!);
    const e = learned ? profile[cell]! * level : Number.NaN;
    const spread = learned ? sigma[cell]! * level : Number.NaN;
    const floor = isWater ? 0.08 * peakHour : 0.03 * peakHour;
    const halfBand = learned ? Math.max(options.baseline.sigmas * spread, options.baseline.relative * e, floor) : Number.NaN;
    for (let s = h * 4; s < h * 4 + 4; s++) {
      expected[s] = e / 4;
      band[s] = halfBand / 4;
    }
    let actual = hourly[h]!;
    if (!learned) {
      if (!Number.isNaN(actual)) {
        dayValidHours++;
      }
      continue;
    }

    // Stuck: a run of slots without consumption (or change) where this hour normally always has some.
    for (let s = h * 4; s < h * 4 + 4; s++) {
      const v = values[s]!;
      if (Number.isNaN(v) || (flags[s]! & SLOT_BAD) !== 0) continue;
      const still = isCounter ? v === 0 : s > 0 && v === values[s - 1];
      if (still) {
        if (!stillRun) stillRun = { start: s, unexpected: 0 };
        if (stillShare[cell]! < 0.05 && e > 0) stillRun.unexpected++;
        continue;
      }
      if (stillRun) {
        if (stillRun.unexpected >= options.stuckSlots) {
          // A counter that catches up when it comes back (the register kept counting): the catch-up
          // step belongs to the stuck period, not a spike.
          let end = s;
          let missed = 0;
          for (let k = stillRun.start; k < s; k++) missed += Number.isNaN(expected[k]!) ? 0 : expected[k]!;
          if (isCounter && v > 3 * (e / 4) && v < 3 * missed + e) end = s + 1;
          findings.push({ detector: 'stuck', fromSlot: stillRun.start, toSlot: end, ongoing: false, peakScore: stillRun.unexpected / options.stuckSlots, variant: isCounter ? 'counter' : 'gauge', detail: { slots: s - stillRun.start, missed } });
          mark('stuck', stillRun.start, end, Math.max(1, stillRun.unexpected / options.stuckSlots));
          excludeHours(stillRun.start, end);
        }
        stillRun = undefined;
      }
    }

    // Spikes: one or two slots far above expectation, with normal slots after them.
    const slotE = e / 4;
    const spikeAbove = Math.max(options.spike.sigmas * (spread / 2), (options.spike.ratio - 1) * slotE, floor);
    for (let s = h * 4; s < h * 4 + 4; s++) {
      const v = values[s]!;
      if (Number.isNaN(v) || (flags[s]! & (SLOT_BAD | SLOT_FILLED)) !== 0 || detector[s] !== 0) continue;
      const over = (v - slotE) / spikeAbove;
      if (over <= 1) continue;
      const isHigh = (k: number) => k < slots && !Number.isNaN(values[k]!) && values[k]! - slotE > spikeAbove / 2;
      const isHighBefore = s > 0 && isHigh(s - 1) && detector[s - 1] !== detectorCode('spike');
      const run = isHigh(s + 1) ? 2 : 1;
      if (isHighBefore || isHigh(s + run) || isHigh(s + run + 1)) continue;
      findings.push({ detector: 'spike', fromSlot: s, toSlot: s + run, ongoing: false, peakScore: over, variant: null, detail: { value: v, expected: slotE } });
      mark('spike', s, s + run, Math.max(1, over));
      if (s + run > h * 4 + 4) spill = { slot: h * 4 + 4, score: Math.max(1, over) };
      // The hour is judged without its spike.
      if (!Number.isNaN(actual)) actual -= v - slotE;
      if (run === 2 && s + 1 < h * 4 + 4 && !Number.isNaN(actual)) actual -= values[s + 1]! - slotE;
      excluded[h] = 1;
      s += run - 1;
    }

    if (Number.isNaN(actual)) continue;
    dayValidHours++;
    const z = halfBand > 0 ? (actual - e) / halfBand : 0;
    for (let s = h * 4; s < h * 4 + 4; s++) if (z > score[s]!) score[s] = Math.min(99, z);
    const ratio = profile[cell]! > 0 ? actual / profile[cell]! : 1;

    // Excess over the baseline; kept up for levelShiftHours it is a level shift.
    if (z > 1) {
      if (!up) up = { start: h, lastHit: h, hits: 0, scoreSum: 0, peak: 0, ratios: [] };
      up.lastHit = h;
      up.hits++;
      up.scoreSum += z;
      up.peak = Math.max(up.peak, z);
      up.ratios.push(ratio);
    }
    if (up) {
      const length = h - up.start + 1;
      if (length >= options.levelShiftHours && up.hits >= 0.75 * length) {
        confirmShift(up, 'up', h, day);
        up = undefined;
      } else if (h - up.lastHit >= 2 || h === hours - 1) {
        const ongoing = h === hours - 1 && h - up.lastHit < 2;
        if (up.hits >= options.baseline.minHours || up.peak >= options.baseline.singleHourScore) finishEpisode(up, 'baseline', 'up', up.lastHit + 1, ongoing);
        up = undefined;
      }
    }
    // A shortfall is only a finding when it lasts (a level shift down): a quiet day is not a problem.
    // Hours where a shortfall means nothing (a holiday, a meter that normally reads next to nothing
    // then, like water at night) neither count towards it nor interrupt it.
    // Judged on the level rather than the band: over half a day, a level well below expectation is
    // clear even on a meter whose hours are noisy.
    if (!holidays(day) && e > floor) {
      if (actual < SHIFT_DOWN_RATIO * e) {
        if (!down) down = { start: h, lastHit: h, hits: 0, scoreSum: 0, peak: 0, ratios: [], applicable: 0, actualSum: 0, expectedSum: 0 };
        down.lastHit = h;
        down.hits++;
        down.scoreSum -= z;
        down.peak = Math.max(down.peak, -z);
        down.ratios.push(ratio);
      }
      if (down) {
        down.applicable = (down.applicable ?? 0) + 1;
        down.actualSum = (down.actualSum ?? 0) + actual;
        down.expectedSum = (down.expectedSum ?? 0) + e;
        if (down.applicable >= options.levelShiftHours && down.hits >= 0.75 * down.applicable && down.actualSum < SHIFT_DOWN_LEVEL * down.expectedSum) {
          confirmShift(down, 'down', h, day);
          down = undefined;
        } else if (actual >= SHIFT_DOWN_RATIO * e && down.applicable - down.hits >= 3 && h - down.lastHit >= 3) {
          down = undefined;
        }
      }
    }
  }
  if (!Number.isNaN(currentDay)) closeDay(currentDay, dayStartHour, hours);
  if (stillRun && stillRun.unexpected >= options.stuckSlots) {
    findings.push({ detector: 'stuck', fromSlot: stillRun.start, toSlot: slots, ongoing: true, peakScore: stillRun.unexpected / options.stuckSlots, variant: isCounter ? 'counter' : 'gauge', detail: { slots: slots - stillRun.start } });
    mark('stuck', stillRun.start, slots, Math.max(1, stillRun.unexpected / options.stuckSlots));
  }
  if (saveAt !== undefined && saveAt === hours * 4) checkpoint = capture(saveAt);
  findings.sort((a, b) => a.fromSlot - b.fromSlot);
  return { series, expected, band, score, detector, findings, learnedFromSlot, historyDays, checkpoint, resumedFromSlot: resumeSlot };
}

/**
 * A copy of the state that the analysis can go on changing without touching it: everything it mutates
 * is copied (add a field to CarriedState, and here if the analysis changes it in place). Only what a
 * later hour can look at is kept of the nights and day levels.
 */
function copyState(state: CarriedState, options: DetectionOptions): CarriedState {
  const findings = state.findings.map((f) => ({ ...f, detail: { ...f.detail } }));
  const episode = (e: Episode | undefined) => e && { ...e, ratios: e.ratios.slice() };
  const shiftFinding = state.activeShift ? state.findings.indexOf(state.activeShift.finding) : -1;
  // The night reference is the last 14 ordinary nights; the level the last levelDays days.
  let ordinary = 0;
  let keepNightsFrom = state.nights.length;
  while (keepNightsFrom > 0 && ordinary < 14) if (!state.nights[--keepNightsFrom]!.high) ordinary++;
  return {
    ...state,
    excluded: state.excluded.slice(),
    profile: state.profile.slice(),
    sigma: state.sigma.slice(),
    stillShare: state.stillShare.slice(),
    sampleCount: state.sampleCount.slice(),
    dayRatios: state.dayRatios.slice(-options.levelDays),
    levelOverride: state.levelOverride && { ...state.levelOverride },
    nights: state.nights.slice(keepNightsFrom),
    nightEpisode: state.nightEpisode && { ...state.nightEpisode, nights: state.nightEpisode.nights.slice() },
    up: episode(state.up),
    down: episode(state.down),
    stillRun: state.stillRun && { ...state.stillRun },
    activeShift: state.activeShift && { ...state.activeShift, finding: shiftFinding >= 0 ? findings[shiftFinding]! : { ...state.activeShift.finding, detail: { ...state.activeShift.finding.detail } } },
    spill: state.spill && { ...state.spill },
    findings,
  };
}

/** Moves a checkpoint's state `shift` slots (whole days) earlier, onto a grid that starts that much later. */
function shiftState(state: CarriedState, shift: number): void {
  if (shift === 0) return;
  const hoursShift = shift / 4;
  state.excluded = state.excluded.subarray(hoursShift);
  state.findings = state.findings.filter((f) => f.toSlot > shift || f.ongoing || f === state.activeShift?.finding);
  for (const f of state.findings) {
    f.fromSlot -= shift;
    f.toSlot -= shift;
  }
  if (state.nightEpisode) {
    state.nightEpisode.startNight -= shift;
    state.nightEpisode.nights = state.nightEpisode.nights.map((n) => n - shift);
  }
  for (const episode of [state.up, state.down]) {
    if (!episode) continue;
    episode.start -= hoursShift;
    episode.lastHit -= hoursShift;
  }
  if (state.stillRun) state.stillRun.start -= shift;
  if (state.learnedFromSlot !== null) state.learnedFromSlot -= shift;
  state.dayStartHour -= hoursShift;
  if (state.spill) state.spill.slot -= shift;
}

function median(list: number[], scratch: Float64Array): number {
  const n = Math.min(list.length, scratch.length);
  for (let i = 0; i < n; i++) scratch[i] = list[list.length - n + i]!;
  return medianInPlace(scratch, n);
}
