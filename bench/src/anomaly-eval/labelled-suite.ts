import { gaussian, seededRandom, shapeFactor, type LoadShapeName } from '@gatehouse/firmware-sim';
import { DateTime } from 'luxon';
import { WorkCalendar, dayNumber, REST_DAY, WORKDAY } from '@gatehouse/cloud/detection';

/**
 * A labelled suite for the anomaly detectors: 15-minute meter readings built from the simulators' load
 * shapes, with every anomaly type injected several times among confounders that are not anomalies
 * (public holidays and make-up working days, heat waves, occupancy changes, seasonal drift, day-to-day
 * variation, single missed readings). Some meters are kept clean to count false alerts.
 *
 * The generator knows nothing of the detectors' thresholds: magnitudes come from what facilities teams
 * see on real sites, drawn from ranges, and the seeds and period of the reported figures are not the ones
 * used while tuning.
 */
export const ANOMALY_TYPES = ['baseline', 'base_load', 'spike', 'level_shift', 'stuck', 'comm_loss', 'counter_reset', 'leak', 'main_sub'] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

export interface Anomaly {
  meter: string;
  type: AnomalyType;
  start: number;
  end: number;
  note: string;
}

export interface SuiteMeter {
  id: string;
  unit: 'kWh' | 'm3';
  clean: boolean;
  ts: number[];
  value: number[];
}

export interface Suite {
  meters: SuiteMeter[];
  anomalies: Anomaly[];
  tree: Map<string, string[]>;
  from: number;
  to: number;
  timeZone: string;
}

const SLOT = 15 * 60_000;

type Profile = 'office' | 'residential' | 'retail' | 'water';

interface Plan {
  id: string;
  profile: Profile;
  unit: 'kWh' | 'm3';
  /** peak hourly consumption */
  peak: number;
  clean: boolean;
  allowed: AnomalyType[];
}

export interface SuiteOptions {
  seed: number;
  from: string; // ISO date, local
  months: number;
  timeZone?: string;
  /** meters per profile; a third of them (at least one) clean */
  perProfile?: number;
  mainGroups?: number;
}

export function generateSuite(options: SuiteOptions): Suite {
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const random = seededRandom(options.seed);
  const uniform = (a: number, b: number) => a + (b - a) * random();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const from = DateTime.fromISO(options.from, { zone: timeZone }).toMillis();
  const to = DateTime.fromISO(options.from, { zone: timeZone }).plus({ months: options.months }).toMillis();
  const slots = Math.round((to - from) / SLOT);
  const calendar = WorkCalendar.china();
  const perProfile = options.perProfile ?? 6;

  // Local time of every slot, and the working calendar of each day.
  const hourOf = new Uint8Array(slots);
  const minuteOf = new Uint8Array(slots);
  const dayOf = new Int32Array(slots);
  for (let i = 0; i < slots; i++) {
    const local = DateTime.fromMillis(from + i * SLOT, { zone: timeZone });
    hourOf[i] = local.hour;
    minuteOf[i] = local.minute;
    dayOf[i] = dayNumber(local.toISODate()!);
  }
  const firstDay = dayOf[0]!;
  const days = dayOf[slots - 1]! - firstDay + 1;

  // Weather: a seasonal temperature curve with heat waves (4–7 days, 5–8 °C hotter) and cool spells.
  const seasonal = (d: number) => 14 + 14 * Math.sin(((d - firstDay + dayOfYear(from, timeZone) - 105) / 365) * 2 * Math.PI);
  const heat = new Float64Array(days);
  for (let k = 0; k < Math.max(1, Math.round(options.months / 2.5)); k++) {
    const start = Math.floor(uniform(21, days - 8));
    const length = Math.floor(uniform(4, 8));
    const extra = uniform(5, 8);
    for (let d = start; d < start + length && d < days; d++) {
      const ramp = Math.min(1, (d - start + 1) / 2, (start + length - d) / 1.5);
      heat[d] = heat[d]! + extra * ramp;
    }
  }
  const temperature = (d: number) => seasonal(d + firstDay) + heat[d]! + 1.5 * Math.sin(d * 1.7 + options.seed);

  const plans: Plan[] = [];
  const profiles: Profile[] = ['office', 'residential', 'retail', 'water'];
  for (const profile of profiles) {
    for (let k = 0; k < perProfile; k++) {
      const water = profile === 'water';
      const clean = k < Math.max(1, Math.round(perProfile / 3));
      const allowed: AnomalyType[] = water
        ? ['baseline', 'spike', 'stuck', 'comm_loss', 'counter_reset', 'leak', 'level_shift']
        : ['baseline', 'base_load', 'spike', 'level_shift', 'stuck', 'comm_loss', 'counter_reset'];
      plans.push({ id: `${profile}-${options.seed}-${k + 1}`, profile, unit: water ? 'm3' : 'kWh', peak: water ? uniform(8, 40) : uniform(60, 400), clean, allowed });
    }
  }
  const tree = new Map<string, string[]>();
  for (let g = 0; g < (options.mainGroups ?? 3); g++) {
    const main = `main-${options.seed}-${g + 1}`;
    const subs = [`${main}-office`, `${main}-retail`, `${main}-plant`];
    tree.set(main, subs);
  }

  const anomalies: Anomaly[] = [];
  const meters: SuiteMeter[] = [];
  const warmUp = 21; // days before any anomaly: the baselines learn first

  /** Consumption per slot of one load, with its confounders. */
  const loadOf = (profile: Profile, peak: number, meterRandom: () => number): Float64Array => {
    const out = new Float64Array(slots);
    const shape: LoadShapeName = profile === 'water' ? 'pump' : profile;
    // Occupancy: a tenant moving in or out changes the level by 8–20 % over three days, on some meters.
    const occupancyDay = meterRandom() < 0.5 ? Math.floor(warmUp + meterRandom() * (days - warmUp)) : -1;
    const occupancyChange = (meterRandom() < 0.5 ? -1 : 1) * (0.08 + 0.12 * meterRandom());
    const drift = (meterRandom() - 0.5) * 0.2; // ±10 % over the period
    const coolingSensitivity = profile === 'water' ? 0.01 : 0.02 + 0.02 * meterRandom(); // per °C above 24
    const noise = 0.03 + 0.03 * meterRandom();
    let dayFactor = 1;
    for (let i = 0; i < slots; i++) {
      const d = dayOf[i]! - firstDay;
      if (i === 0 || dayOf[i] !== dayOf[i - 1]) dayFactor = 1 + 0.05 * gaussian(meterRandom);
      const kind = calendar.kindOf(dayOf[i]!);
      const holiday = calendar.holidayOf(dayOf[i]!);
      const rest = kind !== WORKDAY;
      let f = shapeFactor(shape, rest, hourOf[i]!, minuteOf[i]!);
      if (profile === 'water') f = Math.max(0, f - 0.11) * 1.12; // domestic water: next to nothing at night
      // Residents away over the Spring Festival.
      if (holiday?.includes('春节') && profile === 'residential') f *= 0.8;
      const occupancy = occupancyDay >= 0 && d >= occupancyDay ? 1 + occupancyChange * Math.min(1, (d - occupancyDay + 1) / 3) : 1;
      const season = 1 + (drift * i) / slots;
      const hot = Math.max(0, temperature(d) - 24);
      const daytime = hourOf[i]! >= 9 && hourOf[i]! < 21 ? 1 : 0.35;
      const cooling = 1 + coolingSensitivity * hot * daytime * (kind === REST_DAY && profile === 'office' ? 0.3 : 1);
      const value = (peak / 4) * f * occupancy * season * cooling * dayFactor * (1 + noise * gaussian(meterRandom));
      out[i] = Math.max(0, value);
    }
    return out;
  };

  const emit = (plan: { id: string; unit: 'kWh' | 'm3'; clean: boolean }, consumption: Float64Array, events: MeterEvents) => {
    const run = (initial: number, capacity: number | undefined, record: boolean): number[] => {
      const ts: number[] = [];
      const value: number[] = [];
      const registerAt: number[] = [];
      let register = initial;
      let owed = 0;
      for (let i = 0; i < slots; i++) {
        let step = consumption[i]!;
        if (events.frozen[i]) {
          owed = events.catchUp ? owed + step : 0;
          step = 0;
        } else if (owed > 0) {
          step += owed;
          owed = 0;
        }
        register += step;
        if (capacity !== undefined && register >= capacity) register -= capacity;
        registerAt.push(register);
        const reset = events.resets.get(i);
        if (reset !== undefined) register = reset;
        if (events.missing[i]) continue;
        const glitch = events.glitches.get(i);
        ts.push(from + (i + 1) * SLOT);
        value.push(Math.round((glitch === undefined ? register : register - glitch) * 100) / 100);
      }
      if (record) meters.push({ id: plan.id, unit: plan.unit, clean: plan.clean, ts, value });
      return registerAt;
    };
    if (events.rollSlot === undefined) {
      run(events.initial, undefined, true);
      return;
    }
    // A register that rolls over: start it where it crosses its capacity (a power of ten) at rollSlot.
    const dry = run(0, undefined, false);
    const before = dry[events.rollSlot - 1]!;
    const after = dry[events.rollSlot]!;
    const capacity = 10 ** (Math.ceil(Math.log10(after + events.initial + 1)) + 1);
    run(capacity - (before + after) / 2, capacity, true);
  };

  /** Non-overlapping windows for a meter's anomalies, three days apart at least. */
  const placer = () => {
    const taken: [number, number][] = [];
    return (lengthSlots: number): number | undefined => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const start = Math.floor(uniform(warmUp * 96, slots - lengthSlots - 96));
        if (taken.every(([a, b]) => start + lengthSlots + 3 * 96 < a || start > b + 3 * 96)) {
          taken.push([start, start + lengthSlots]);
          return start;
        }
      }
      return undefined;
    };
  };

  const inject = (plan: Plan, consumption: Float64Array, events: MeterEvents, types: AnomalyType[]) => {
    const place = placer();
    const slotTs = (i: number) => from + (i + 1) * SLOT;
    const typical = mean(consumption);
    for (const type of types) {
      switch (type) {
        case 'baseline': {
          // Plant left running: half to all of the peak load, 3–10 hours, at any time of day.
          const length = Math.floor(uniform(3, 10.99)) * 4;
          const start = place(length);
          if (start === undefined) break;
          const extra = (plan.peak / 4) * uniform(0.5, 1.0);
          for (let i = start; i < start + length; i++) consumption[i] = consumption[i]! + extra;
          anomalies.push({ meter: plan.id, type, start: from + start * SLOT, end: slotTs(start + length - 1), note: `+${extra.toFixed(1)} per 15 min for ${length / 4} h` });
          break;
        }
        case 'spike': {
          const start = place(1);
          if (start === undefined) break;
          const extra = typical * uniform(6, 14);
          consumption[start] = consumption[start]! + extra;
          anomalies.push({ meter: plan.id, type, start: slotTs(start), end: slotTs(start), note: `+${extra.toFixed(1)} in one interval` });
          break;
        }
        case 'level_shift': {
          // A sudden, sustained change: a bypass, a new load, a failed CT (down), for 3–6 days.
          const length = Math.floor(uniform(3, 6.99) * 96);
          const start = place(length);
          if (start === undefined) break;
          const factor = random() < 0.5 ? uniform(1.5, 2.0) : uniform(0.35, 0.6);
          for (let i = start; i < start + length; i++) consumption[i] = consumption[i]! * factor;
          anomalies.push({ meter: plan.id, type, start: from + start * SLOT, end: slotTs(start + length - 1), note: `×${factor.toFixed(2)} for ${(length / 96).toFixed(1)} days` });
          break;
        }
        case 'base_load': {
          // Night and weekend base load rising: something left on around the clock, 40–90 % of the night load.
          const length = Math.floor(uniform(5, 10.99)) * 96;
          const start = place(length);
          if (start === undefined) break;
          const nightLoad = nightMinimum(consumption, hourOf);
          const extra = nightLoad * uniform(0.4, 0.9);
          for (let i = start; i < start + length; i++) consumption[i] = consumption[i]! + extra;
          anomalies.push({ meter: plan.id, type, start: from + start * SLOT, end: slotTs(start + length - 1), note: `+${(extra * 4).toFixed(1)}/h around the clock for ${length / 96} days` });
          break;
        }
        case 'leak': {
          const length = Math.floor(uniform(4, 10.99)) * 96;
          const start = place(length);
          if (start === undefined) break;
          const flow = (plan.peak / 4) * uniform(0.04, 0.1);
          for (let i = start; i < start + length; i++) consumption[i] = consumption[i]! + flow;
          anomalies.push({ meter: plan.id, type, start: from + start * SLOT, end: slotTs(start + length - 1), note: `${(flow * 4).toFixed(2)} m3/h leak for ${length / 96} days` });
          break;
        }
        case 'stuck': {
          // The register freezes for 4–24 hours; half the meters catch up when they come back.
          const length = Math.floor(uniform(4, 24.99) * 4);
          const start = place(length);
          if (start === undefined) break;
          // A frozen water meter during the night shows nothing: freeze it over a day.
          for (let i = start; i < start + length; i++) events.frozen[i] = 1;
          events.catchUp = random() < 0.5;
          anomalies.push({ meter: plan.id, type, start: slotTs(start), end: slotTs(start + length), note: `frozen ${length / 4} h${events.catchUp ? ', catches up' : ''}` });
          break;
        }
        case 'comm_loss': {
          const length = Math.floor(uniform(2, 24.99) * 4);
          const start = place(length);
          if (start === undefined) break;
          for (let i = start; i < start + length; i++) events.missing[i] = 1;
          anomalies.push({ meter: plan.id, type, start: slotTs(start - 1), end: slotTs(start + length), note: `${length / 4} h without data` });
          break;
        }
        case 'counter_reset': {
          const start = place(1);
          if (start === undefined) break;
          const kind = pick(['reset', 'glitch', 'rollover'] as const);
          if (kind === 'reset') events.resets.set(start, Math.round(uniform(0, 5) * 100) / 100);
          else if (kind === 'glitch') events.glitches.set(start, typical * uniform(20, 200));
          else events.rollSlot = start;
          anomalies.push({ meter: plan.id, type, start: slotTs(start), end: slotTs(start), note: kind });
          break;
        }
        case 'main_sub':
          break;
      }
    }
  };

  for (const plan of plans) {
    const meterRandom = seededRandom(Math.floor(random() * 2 ** 31));
    const consumption = loadOf(plan.profile, plan.peak, meterRandom);
    const events = newEvents(uniform(1e4, 5e5), slots);
    if (!plan.clean) {
      // Every allowed type once or twice, in a random order.
      const types = plan.allowed.filter(() => random() < 0.75);
      inject(plan, consumption, events, shuffle(types, random));
    }
    scatterMissedReadings(events, random);
    emit(plan, consumption, events);
  }

  // Main meters and their sub-meters: the main reads the sum of its subs plus 2–4 % losses and common areas.
  let g = 0;
  for (const [main, subs] of tree) {
    const meterRandom = seededRandom(Math.floor(random() * 2 ** 31));
    const subProfiles: Profile[] = ['office', 'retail', 'residential'];
    const subLoads = subs.map((_, k) => loadOf(subProfiles[k]!, uniform(60, 250), meterRandom));
    const total = new Float64Array(slots);
    const losses = uniform(0.02, 0.04);
    for (let i = 0; i < slots; i++) {
      let sum = 0;
      for (const load of subLoads) sum += load[i]!;
      total[i] = sum * (1 + losses) * (1 + 0.005 * gaussian(meterRandom));
    }
    const clean = g === 0;
    if (!clean) {
      // Twice: an unmetered load on the main meter (or a sub-meter reading low), 8–20 % of the main, for 1–3 days.
      const place = placer();
      for (let k = 0; k < 2; k++) {
        const length = Math.floor(uniform(1, 3.99) * 96);
        const start = place(length);
        if (start === undefined) continue;
        const share = uniform(0.08, 0.2);
        const level = mean(total);
        for (let i = start; i < start + length; i++) total[i] = total[i]! + level * share;
        anomalies.push({ meter: main, type: 'main_sub', start: from + start * SLOT, end: from + (start + length) * SLOT, note: `unmetered ${(share * 100).toFixed(0)} % of the main for ${(length / 96).toFixed(1)} days` });
      }
    }
    emit({ id: main, unit: 'kWh', clean }, total, newEvents(uniform(1e5, 9e5), slots));
    subs.forEach((sub, k) => emit({ id: sub, unit: 'kWh', clean: true }, subLoads[k]!, newEvents(uniform(1e4, 3e5), slots)));
    g++;
  }
  return { meters, anomalies, tree, from, to, timeZone };
}

interface MeterEvents {
  initial: number;
  frozen: Uint8Array;
  catchUp: boolean;
  missing: Uint8Array;
  resets: Map<number, number>;
  glitches: Map<number, number>;
  /** the register rolls over at this slot: its capacity is set so that it crosses it there */
  rollSlot: number | undefined;
}

function newEvents(initial: number, slots: number): MeterEvents {
  return { initial, frozen: new Uint8Array(slots), catchUp: false, missing: new Uint8Array(slots), resets: new Map(), glitches: new Map(), rollSlot: undefined };
}

/** A single reading missed now and then (a busy bus, a retry that came too late): not a communication loss. */
function scatterMissedReadings(events: MeterEvents, random: () => number): void {
  for (let i = 1; i < events.missing.length - 1; i++) if (random() < 0.002 && !events.missing[i - 1] && !events.missing[i + 1]) events.missing[i] = 1;
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function nightMinimum(consumption: Float64Array, hourOf: Uint8Array): number {
  const night: number[] = [];
  for (let i = 0; i < consumption.length; i++) if (hourOf[i]! >= 1 && hourOf[i]! < 5) night.push(consumption[i]!);
  night.sort((a, b) => a - b);
  return night[Math.floor(night.length / 2)] ?? 0;
}

function shuffle<T>(list: T[], random: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

function dayOfYear(ts: number, zone: string): number {
  return DateTime.fromMillis(ts, { zone }).ordinal;
}

