import type { Commodity } from './findings.js';
import { SLOT_MS } from './work-calendar.js';

/** Per-slot flags. */
export const SLOT_BAD = 1; // the edge flagged the reading, or the step cannot be consumption: never learned from, never alerted on
export const SLOT_FILLED = 2; // consumption spread over a communication gap by the reading that ended it
export const SLOT_COUNTER_EVENT = 4; // a counter reset, rollover or negative step ended in this slot

export type CounterEventKind = 'reset' | 'rollover' | 'negative_step';

export interface CounterEvent {
  slot: number;
  kind: CounterEventKind;
  before: number;
  after: number;
}

export interface CommGap {
  /** first slot without data, and the slot of the reading that ended the gap */
  fromSlot: number;
  endSlot: number;
  /** time of the last reading before and the first after */
  lastTs: number;
  resumedTs: number;
}

/**
 * One meter's consumption on a grid of 15-minute slots: the input of every detector, built from raw
 * readings (the backtest CLI) or from the cloud's 15-minute rollups (live). Slot i covers
 * (start + i·15 min, start + (i+1)·15 min], as interval meters label their intervals.
 */
export interface MeterSeries {
  meter: string;
  kind: 'counter' | 'gauge';
  unit: string;
  commodity: Commodity;
  /** consumption per slot (for a gauge: its value), NaN where nothing was measured */
  values: Float64Array;
  flags: Uint8Array;
  counterEvents: CounterEvent[];
  gaps: CommGap[];
}

export function commodityOfUnit(unit: string): Commodity {
  const u = unit.toLowerCase();
  if (u === 'm3' || u === 'm³' || u === 'l' || u === 'litre' || u === 'liter') return 'water';
  if (u === 'kwh' || u === 'wh' || u === 'mwh') return 'electricity';
  return 'other';
}

export interface SeriesBuildOptions {
  /** grid start (a multiple of 15 minutes) and number of slots */
  gridStart: number;
  slots: number;
  /** a silence longer than this between two readings is a communication loss */
  commLossMs: number;
}

/**
 * Turns one meter's readings (sorted by time, duplicates removed) into slot consumption.
 *
 * A counter's step between two readings is its consumption over the interval between them, spread over
 * the slots that interval covers, in proportion to how much of each it covers: readings every 15 minutes
 * fill one slot each, hourly readings four, and the first reading after a communication gap spreads over
 * the whole gap (flagged, so that it is neither learned from nor mistaken for a spike). A step that goes
 * down is a counter event, never negative consumption.
 */
export function buildSeries(meter: string, kind: 'counter' | 'gauge', unit: string, ts: Float64Array, value: Float64Array, n: number, options: SeriesBuildOptions): MeterSeries {
  const { gridStart, slots } = options;
  const values = new Float64Array(slots).fill(Number.NaN);
  const flags = new Uint8Array(slots);
  const counterEvents: CounterEvent[] = [];
  const gaps: CommGap[] = [];
  const slotOf = (t: number) => Math.floor((t - 1 - gridStart) / SLOT_MS);
  // Gauge readings per slot, for their running mean.
  const counts = new Map<number, number>();
  const add = (slot: number, amount: number) => {
    if (slot < 0 || slot >= slots) return;
    values[slot] = Number.isNaN(values[slot]!) ? amount : values[slot]! + amount;
  };

  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    const v = value[i]!;
    const slot = slotOf(t);
    if (kind === 'gauge') {
      // A gauge reading stands for its interval; several in one slot: their mean (kept as a running sum).
      if (i > 0 && t - ts[i - 1]! > options.commLossMs) gaps.push(gapBetween(ts[i - 1]!, t, slotOf));
      if (Number.isNaN(values[slot] ?? 0)) {
        values[slot] = v;
        counts.set(slot, 1);
      } else if (slot >= 0 && slot < slots) {
        const c = (counts.get(slot) ?? 1) + 1;
        values[slot] = values[slot]! + (v - values[slot]!) / c;
        counts.set(slot, c);
      }
      continue;
    }
    if (i === 0) continue;
    const prevT = ts[i - 1]!;
    const prevV = value[i - 1]!;
    const step = v - prevV;
    if (step < 0) {
      counterEvents.push({ slot, kind: classifyDrop(prevV, v), before: prevV, after: v });
      if (slot >= 0 && slot < slots) flags[slot]! |= SLOT_COUNTER_EVENT | SLOT_BAD;
      continue;
    }
    const gap = t - prevT > options.commLossMs;
    if (gap) gaps.push(gapBetween(prevT, t, slotOf));
    // Spread the step over (prevT, t] by the time it covers of each slot.
    const firstSlot = slotOf(prevT + 1);
    if (firstSlot === slot) {
      add(slot, step);
    } else {
      const span = t - prevT;
      for (let s = Math.max(firstSlot, 0); s <= slot && s < slots; s++) {
        const from = Math.max(prevT, gridStart + s * SLOT_MS);
        const to = Math.min(t, gridStart + (s + 1) * SLOT_MS);
        add(s, (step * (to - from)) / span);
        if (gap) flags[s]! |= SLOT_FILLED;
      }
    }
  }
  return { meter, kind, unit, commodity: commodityOfUnit(unit), values, flags, counterEvents, gaps };
}

function gapBetween(lastTs: number, resumedTs: number, slotOf: (t: number) => number): CommGap {
  return { fromSlot: slotOf(lastTs) + 1, endSlot: slotOf(resumedTs), lastTs, resumedTs };
}

/**
 * A counter that goes down was reset (meter replaced, or cleared: it restarts near zero), rolled over
 * (it was near a power of ten, its register's capacity, and restarts near zero), or stepped back (a
 * glitch or a misread).
 */
export function classifyDrop(before: number, after: number): CounterEventKind {
  if (after > Math.max(1, before * 0.05)) return 'negative_step';
  const capacity = 10 ** Math.ceil(Math.log10(Math.max(before, 1) + 1));
  return before >= capacity * 0.9 ? 'rollover' : 'reset';
}
