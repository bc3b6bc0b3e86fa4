import type { MeterSeries } from './meter-series.js';
import { SLOT_MS } from './work-calendar.js';

/** 15-minute slots in a day: the live grid starts at a UTC midnight and moves a whole day at a time. */
export const SLOTS_PER_DAY = 96;

/**
 * Where the analysis of one meter stood at the start of an hour, so that the next run need not replay
 * the weeks before it: everything the detectors carry from hour to hour and what they output so far.
 * It serves a later run while the series before `slot` is unchanged (checked by hash, day by day), on
 * the same grid or on one that starts whole days later.
 */
export interface AnalysisCheckpoint {
  /** start of the grid it was taken on (ms) and the slot (a whole hour) it was taken at */
  gridStart: number;
  slot: number;
  /** per grid day, a hash of the series' slots before `slot` (values, flags, counter events) */
  dayHashes: number[];
  /** the outputs of the slots before `slot` (the buffers may be longer) */
  saved: AnalysisOutputs;
  /**
   * The outputs of the analysis that took the checkpoint: the analysis that takes it up writes its own
   * into them rather than allocate, so that analysis' outputs must no longer be needed by then.
   */
  spare: AnalysisOutputs;
  /** the analysis' own state, only analyseMeter reads it; undefined once taken up (it is not copied) */
  state: unknown;
}

/** An analysis' per-slot outputs: expected consumption and its band, score, detector code. */
export interface AnalysisOutputs {
  expected: Float64Array;
  band: Float64Array;
  score: Float32Array;
  detector: Uint8Array;
}

/**
 * Outputs for `slots` slots, in `reuse` if it has room (views of its buffers), else in new buffers with
 * room for two more days (the live grid grows an hour at a time and moves a day at a time). Nothing is
 * cleared: the caller sets every slot it reads.
 */
export function outputsFor(slots: number, reuse?: AnalysisOutputs): AnalysisOutputs {
  const capacity = reuse ? reuse.detector.buffer.byteLength : 0;
  if (reuse && capacity >= slots) {
    return {
      expected: new Float64Array(reuse.expected.buffer, 0, slots),
      band: new Float64Array(reuse.band.buffer, 0, slots),
      score: new Float32Array(reuse.score.buffer, 0, slots),
      detector: new Uint8Array(reuse.detector.buffer, 0, slots),
    };
  }
  const room = slots + 2 * SLOTS_PER_DAY;
  return {
    expected: new Float64Array(room).subarray(0, slots),
    band: new Float64Array(room).subarray(0, slots),
    score: new Float32Array(room).subarray(0, slots),
    detector: new Uint8Array(room).subarray(0, slots),
  };
}

/** Copies slots [from, from + count) of `source` to slots [0, count) of `target`. */
export function copyOutputs(source: AnalysisOutputs, from: number, count: number, target: AnalysisOutputs): void {
  target.expected.set(source.expected.subarray(from, from + count));
  target.band.set(source.band.subarray(from, from + count));
  target.score.set(source.score.subarray(from, from + count));
  target.detector.set(source.detector.subarray(from, from + count));
}

const float = new Float64Array(1);
const floatBits = new Uint32Array(float.buffer);

function mix(hash: number, value: number): number {
  return Math.imul(hash ^ value, 0x01000193) >>> 0;
}

function mixFloat(hash: number, value: number): number {
  // Every NaN hashes alike, whatever its bit pattern.
  float[0] = Number.isNaN(value) ? Number.NaN : value;
  return mix(mix(hash, floatBits[0]!), floatBits[1]!);
}

/**
 * One hash per grid day of a series' slots before `upTo` (the last day may be partial). A day's hash
 * depends on its content only, not on where the grid starts, so that a grid that moved compares.
 */
export function seriesDayHashes(series: MeterSeries, upTo: number): number[] {
  // A run hashes the same series twice (to take up a checkpoint, to leave one): whole days once.
  let whole = wholeDayHashes.get(series);
  if (!whole) wholeDayHashes.set(series, (whole = []));
  const hashes: number[] = [];
  for (let d = 0; d * SLOTS_PER_DAY < upTo; d++) {
    const end = Math.min(upTo, (d + 1) * SLOTS_PER_DAY);
    const isWhole = end === (d + 1) * SLOTS_PER_DAY;
    hashes.push((isWhole ? whole[d] : undefined) ?? dayHash(series, d, end));
    if (isWhole) whole[d] = hashes[d]!;
  }
  return hashes;
}

/** Hashes of a series' whole days, by series (a series is not changed once analysed). */
const wholeDayHashes = new WeakMap<MeterSeries, number[]>();

function dayHash(series: MeterSeries, day: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let s = day * SLOTS_PER_DAY; s < end; s++) hash = mix(mixFloat(hash, series.values[s]!), series.flags[s]!);
  for (const event of series.counterEvents) {
    if (event.slot < day * SLOTS_PER_DAY || event.slot >= end) continue;
    hash = mix(hash, event.slot - day * SLOTS_PER_DAY);
    for (let i = 0; i < event.kind.length; i++) hash = mix(hash, event.kind.charCodeAt(i));
    hash = mixFloat(mixFloat(hash, event.before), event.after);
  }
  return hash;
}

/**
 * The slot where an analysis of `series` on the grid starting at `gridStart` can take up `checkpoint`,
 * or undefined where it must start from the beginning: the checkpoint was taken on a grid that started
 * then or whole days earlier, still falls inside this grid, and the series before it is unchanged.
 */
export function resumableSlot(checkpoint: AnalysisCheckpoint, series: MeterSeries, gridStart: number): number | undefined {
  const shift = (gridStart - checkpoint.gridStart) / SLOT_MS;
  if (!Number.isInteger(shift) || shift < 0 || shift % SLOTS_PER_DAY !== 0) return undefined;
  const slot = checkpoint.slot - shift;
  if (slot <= 0 || slot > series.values.length) return undefined;
  const hashes = seriesDayHashes(series, slot);
  const skippedDays = shift / SLOTS_PER_DAY;
  for (let d = 0; d < hashes.length; d++) if (checkpoint.dayHashes[skippedDays + d] !== hashes[d]) return undefined;
  return slot;
}
