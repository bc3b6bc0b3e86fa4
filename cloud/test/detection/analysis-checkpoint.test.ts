import { gaussian, seededRandom, shapeFactor, type LoadShapeName } from '@gatehouse/firmware-sim';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { analyseMeter, buildSeries, detectionOptions, SlotClock, WorkCalendar, type MeterAnalysis, type MeterSeries } from '../../src/detection/index.js';

// A live run takes up the previous run's checkpoint instead of replaying two months: what it finds must
// be exactly what the full replay finds, whatever the meters did.
const ZONE = 'Asia/Shanghai';
const Q = 15 * 60_000;
const DAY = 86_400_000;
const calendar = WorkCalendar.china();
const options = detectionOptions();
const holidays = (day: number) => calendar.holidayOf(day) !== undefined;
// A UTC midnight, as the live grid starts.
const T0 = Date.UTC(2025, 0, 6);

interface Trouble {
  /** readings missing (a communication gap) in [from, to) */
  gaps?: [number, number][];
  /** consumption multiplied by `factor` in [from, to) */
  scale?: { from: number; to: number; factor: number }[];
  /** consumption added at night (22:00–05:00 local) from `from` on */
  nightExtraFrom?: number;
  /** the register restarts from zero at this time */
  resetAt?: number;
}

/** 15-minute register readings of one meter from T0 for `days` days (time offsets in ms from T0). */
function readings(shape: LoadShapeName, seed: number, days: number, trouble: Trouble, rated = 40): { ts: Float64Array; value: Float64Array; n: number } {
  const random = seededRandom(seed);
  const ts: number[] = [];
  const value: number[] = [];
  let register = 5_000;
  for (let t = T0 + Q; t <= T0 + days * DAY; t += Q) {
    const local = DateTime.fromMillis(t, { zone: ZONE });
    const rest = calendar.kindOf(Math.floor((t + 8 * 3_600_000) / DAY)) !== 0;
    let step = (rated / 4) * shapeFactor(shape, rest, local.hour, local.minute) * (1 + 0.05 * gaussian(random));
    for (const s of trouble.scale ?? []) if (t - T0 >= s.from && t - T0 < s.to) step *= s.factor;
    if (trouble.nightExtraFrom !== undefined && t - T0 >= trouble.nightExtraFrom && (local.hour >= 22 || local.hour < 5)) step += rated * 0.1;
    if (trouble.resetAt !== undefined && t - T0 >= trouble.resetAt && t - T0 < trouble.resetAt + Q) register = 0;
    register += Math.max(0, step);
    if ((trouble.gaps ?? []).some(([from, to]) => t - T0 >= from && t - T0 < to)) continue;
    ts.push(t);
    value.push(Math.round(register * 100) / 100);
  }
  return { ts: Float64Array.from(ts), value: Float64Array.from(value), n: ts.length };
}

function seriesOn(gridStart: number, days: number, input: ReturnType<typeof readings>, unit = 'kWh'): { series: MeterSeries; clock: SlotClock } {
  const slots = days * 96;
  const series = buildSeries('m', 'counter', unit, input.ts, input.value, input.n, { gridStart, slots, commLossMs: options.commLossMinutes * 60_000 });
  return { series, clock: new SlotClock(gridStart, slots, ZONE, calendar) };
}

const H = 3_600_000;
/** Meters that keep every detector busy, with trouble in every week. */
const METERS: { name: string; shape: LoadShapeName; unit?: string; trouble: Trouble }[] = [
  { name: 'clean office', shape: 'office', trouble: {} },
  {
    name: 'troubled office',
    shape: 'office',
    trouble: {
      gaps: [[20 * DAY + 3 * H, 20 * DAY + 9 * H], [47 * DAY + 22 * H, 48 * DAY + 4 * H]],
      scale: [
        { from: 25 * DAY, to: 29 * DAY, factor: 1.8 }, // a level shift up, and back
        { from: 33 * DAY + 10 * H, to: 33 * DAY + 10.5 * H, factor: 9 }, // a spike of two slots across an hour
        { from: 38 * DAY + 9 * H, to: 38 * DAY + 17 * H, factor: 0 }, // stuck during working hours
        { from: 41 * DAY, to: 44 * DAY, factor: 0.4 }, // a level shift down
      ],
      nightExtraFrom: 50 * DAY,
      resetAt: 36 * DAY + 5 * H,
    },
  },
  { name: 'leaking water main', shape: 'residential', unit: 'm3', trouble: { nightExtraFrom: 30 * DAY, scale: [{ from: 45 * DAY + 14.75 * H, to: 45 * DAY + 15.25 * H, factor: 7 }] } },
  { name: 'retail with spikes', shape: 'retail', trouble: { scale: [{ from: 22 * DAY + 11.75 * H, to: 22 * DAY + 12.25 * H, factor: 6 }, { from: 53 * DAY + 23.75 * H, to: 54 * DAY + 0.25 * H, factor: 6 }] } },
];

function sameAnalysis(resumed: MeterAnalysis, full: MeterAnalysis, offset = 0): void {
  const slots = resumed.expected.length;
  expect(resumed.findings.map((f) => ({ ...f, fromSlot: f.fromSlot + offset, toSlot: f.toSlot + offset }))).toEqual(full.findings.filter((f) => f.toSlot > offset || f.ongoing));
  expect(Array.from(resumed.expected)).toEqual(Array.from(full.expected.subarray(offset, offset + slots)));
  expect(Array.from(resumed.band)).toEqual(Array.from(full.band.subarray(offset, offset + slots)));
  expect(Array.from(resumed.score)).toEqual(Array.from(full.score.subarray(offset, offset + slots)));
  expect(Array.from(resumed.detector)).toEqual(Array.from(full.detector.subarray(offset, offset + slots)));
  expect(resumed.historyDays).toBe(full.historyDays);
}

describe('analysis checkpoints', () => {
  it.each(METERS.map((m, i) => [m.name, m, i] as const))('a run resumed at any hour finds exactly what the full replay finds: %s', (_name, meter, i) => {
    const { series, clock } = seriesOn(T0, 63, readings(meter.shape, 11 + i, 63, meter.trouble), meter.unit);
    const full = analyseMeter(series, clock, options, holidays);
    expect(full.findings.length).toBeGreaterThan(i === 0 ? -1 : 0);
    // Every 29 hours from the third week (all hours of the day, working and rest days), and every hour
    // around each trouble's start and end (a spike across an hour boundary, a gap, a reset).
    const hours = new Set<number>();
    for (let hour = 15 * 24; hour < 63 * 24; hour += 29) hours.add(hour);
    const edges = [...(meter.trouble.scale ?? []).flatMap((t) => [t.from, t.to]), ...(meter.trouble.gaps ?? []).flat(), meter.trouble.resetAt, meter.trouble.nightExtraFrom];
    for (const edge of edges) if (edge !== undefined) for (let d = -2; d <= 2; d++) hours.add(Math.floor(edge / H) + d);
    for (const hour of hours) {
      const first = analyseMeter(series, clock, options, holidays, { saveAt: hour * 4 });
      expect(first.checkpoint?.slot).toBe(hour * 4);
      const resumed = analyseMeter(series, clock, options, holidays, { resume: first.checkpoint });
      expect(resumed.resumedFromSlot).toBe(hour * 4);
      sameAnalysis(resumed, full);
    }
  });

  it('the troubled meter exercises every detector that a single meter has', () => {
    const { series, clock } = seriesOn(T0, 63, readings('office', 12, 63, METERS[1]!.trouble));
    const detectors = new Set(analyseMeter(series, clock, options, holidays).findings.map((f) => f.detector));
    expect([...detectors].sort()).toEqual(['base_load', 'baseline', 'comm_loss', 'counter_reset', 'level_shift', 'spike', 'stuck']);
  });

  it('takes up the checkpoint when only data after it changed (a gap filled late), and replays everything when data before it changed', () => {
    const trouble = METERS[1]!.trouble;
    const checkpointHour = 46 * 24 + 7;
    const before = seriesOn(T0, 63, readings('office', 12, 63, trouble));
    const taken = analyseMeter(before.series, before.clock, options, holidays, { saveAt: checkpointHour * 4 }).checkpoint!;

    // The gap of day 47–48 (after the checkpoint) is filled by a late backlog: resumed, same as a full replay.
    const filledLate = seriesOn(T0, 63, readings('office', 12, 63, { ...trouble, gaps: [trouble.gaps![0]!] }));
    const resumed = analyseMeter(filledLate.series, filledLate.clock, options, holidays, { resume: taken });
    expect(resumed.resumedFromSlot).toBe(checkpointHour * 4);
    const full = analyseMeter(filledLate.series, filledLate.clock, options, holidays);
    expect(full.findings.filter((f) => f.detector === 'comm_loss')).toHaveLength(1);
    sameAnalysis(resumed, full);

    // The gap of day 20 (before the checkpoint) is filled: the checkpoint no longer holds.
    const filledEarly = seriesOn(T0, 63, readings('office', 12, 63, { ...trouble, gaps: [trouble.gaps![1]!] }));
    const replayed = analyseMeter(filledEarly.series, filledEarly.clock, options, holidays, { resume: taken });
    expect(replayed.resumedFromSlot).toBe(0);
    sameAnalysis(replayed, analyseMeter(filledEarly.series, filledEarly.clock, options, holidays));
  });

  it('moves with a grid that starts a day later: as if the analysis had started on the earlier grid', () => {
    for (const [i, meter] of METERS.entries()) {
      const input = readings(meter.shape, 11 + i, 65, meter.trouble);
      // Yesterday's grid (64 days: the 56 days a baseline looks back, the week re-judged and one more)
      // left a checkpoint a week before its end; today's starts a day later.
      const yesterday = seriesOn(T0, 64, input, meter.unit);
      const taken = analyseMeter(yesterday.series, yesterday.clock, options, holidays, { saveAt: 57 * 96 }).checkpoint!;
      const today = seriesOn(T0 + DAY, 64, input, meter.unit);
      const resumed = analyseMeter(today.series, today.clock, options, holidays, { resume: taken });
      expect(resumed.resumedFromSlot).toBe(56 * 96);
      // The same as analysing the longer window from yesterday's start.
      const longer = seriesOn(T0, 65, input, meter.unit);
      sameAnalysis(resumed, analyseMeter(longer.series, longer.clock, options, holidays), 96);
    }
  });

  it('hour after hour, each run taking up the last one\'s checkpoint (its buffers too), across a move of the grid, finds what one analysis of the whole time finds', () => {
    const meter = METERS[1]!;
    const input = readings(meter.shape, 12, 64, meter.trouble);
    const gridOf = (horizon: number) => Math.floor((horizon - 63 * DAY) / DAY) * DAY;
    let checkpoint: MeterAnalysis['checkpoint'];
    // From 20:00 on day 62 to 04:00 on day 64 (UTC; local time is 8 hours ahead): the grid (63 days
    // back, from a UTC midnight) moves a day once, and grows an hour each run.
    const firstGrid = gridOf(T0 + 62 * DAY + 20 * H);
    for (let horizon = T0 + 62 * DAY + 20 * H; horizon <= T0 + 64 * DAY - 4 * H; horizon += H) {
      const gridStart = gridOf(horizon);
      const n = input.ts.findIndex((t) => t > horizon);
      const slots = (horizon - gridStart) / Q;
      const series = buildSeries('m', 'counter', 'kWh', input.ts, input.value, n < 0 ? input.n : n, { gridStart, slots, commLossMs: options.commLossMinutes * 60_000 });
      const run = analyseMeter(series, new SlotClock(gridStart, slots, ZONE, calendar), options, holidays, { resume: checkpoint, saveAt: slots - 8 });
      if (checkpoint) expect(run.resumedFromSlot).toBe(slots - 12);
      const wholeSlots = (horizon - firstGrid) / Q;
      const whole = buildSeries('m', 'counter', 'kWh', input.ts, input.value, n < 0 ? input.n : n, { gridStart: firstGrid, slots: wholeSlots, commLossMs: options.commLossMinutes * 60_000 });
      sameAnalysis(run, analyseMeter(whole, new SlotClock(firstGrid, wholeSlots, ZONE, calendar), options, holidays), (gridStart - firstGrid) / Q);
      checkpoint = run.checkpoint;
    }
  });
});
