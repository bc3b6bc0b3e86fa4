import { DateTime } from 'luxon';
import { confidenceOf, type Finding, type FindingEvidence } from './findings.js';
import type { MeterAnalysis, RawFinding } from './meter-analysis.js';
import type { TariffTable } from './tariff.js';
import { SLOT_MS, type SlotClock } from './work-calendar.js';

/** Detectors whose findings are about consumption beyond the expectation (and level shifts up). */
const EXCESS_DETECTORS = new Set(['baseline', 'base_load', 'leak', 'spike', 'main_sub']);

/** Evidence slices show the finding with a day before it, at most a week of it. */
const EVIDENCE_BEFORE_SLOTS = 96;
const EVIDENCE_MAX_SLOTS = 7 * 96;

export interface DescribeContext {
  clock: SlotClock;
  tariff: TariffTable;
  /** how people call the meter: its name, else its id */
  label: string;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const fmt = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en') : String(round(x, Math.abs(x) >= 10 ? 1 : 2)));

/**
 * A detector's raw finding made readable: consumption against its expectation, the excess and what it
 * costs at the site's tariff, a confidence, the evidence (the series around it with its band) and one
 * sentence in English and in Chinese.
 */
export function describeFinding(raw: RawFinding, analysis: MeterAnalysis, ctx: DescribeContext): Finding {
  const { clock, tariff, label } = ctx;
  const series = analysis.series;
  const from = Math.max(0, raw.fromSlot);
  const to = Math.min(clock.slots, Math.max(raw.toSlot, raw.fromSlot + 1));
  let actual = 0;
  let measured = 0;
  let expected = 0;
  let band = 0;
  let known = 0;
  let excess = 0;
  let cost = 0;
  let priced = tariff.has(series.commodity);
  for (let s = from; s < to; s++) {
    const v = series.values[s]!;
    const e = analysis.expected[s]!;
    if (!Number.isNaN(v)) {
      actual += v;
      measured++;
    }
    if (!Number.isNaN(e)) {
      expected += e;
      band += analysis.band[s]!;
      known++;
      if (!Number.isNaN(v) && v > e) {
        excess += v - e;
        const local = DateTime.fromMillis(clock.start + s * SLOT_MS, { zone: clock.timeZone });
        const price = tariff.priceAt(series.commodity, local.month, local.hour);
        if (price === undefined) priced = false;
        else cost += (v - e) * price;
      }
    }
  }
  const hasExpected = known > 0 && known >= (to - from) / 2;
  let findingExcess: number | null = EXCESS_DETECTORS.has(raw.detector) || (raw.detector === 'level_shift' && raw.variant === 'up') ? round(excess, 3) : null;
  if (raw.detector === 'main_sub') {
    findingExcess = round(raw.detail.excess ?? 0, 3);
    cost = 0;
    for (let s = from; s < to; s += 4) {
      const local = DateTime.fromMillis(clock.start + s * SLOT_MS, { zone: clock.timeZone });
      cost += ((raw.detail.excess ?? 0) / Math.max(1, (to - from) / 4)) * (tariff.priceAt(series.commodity, local.month, local.hour) ?? 0);
    }
  }
  const costCny = priced && findingExcess !== null ? round(cost, 2) : null;
  // A finding taken over from an earlier grid may have begun before this one: its start is its own.
  const hours = (to - Math.min(from, raw.fromSlot)) / 4;
  const start = clock.start + raw.fromSlot * SLOT_MS;
  const end = clock.start + to * SLOT_MS;
  const confidence = raw.detector === 'counter_reset' || raw.detector === 'comm_loss' ? 0.99 : confidenceOf(raw.peakScore, hours);
  const reason = sentences(raw, {
    label,
    unit: series.unit,
    water: series.commodity === 'water',
    start,
    end,
    zone: clock.timeZone,
    actual: measured > 0 ? actual : null,
    expected: hasExpected ? expected : null,
    band: hasExpected ? band : null,
    excess: findingExcess,
    cost: costCny,
    confidence,
  });
  return {
    meter: series.meter,
    detector: raw.detector,
    start,
    end,
    ongoing: raw.ongoing,
    unit: series.unit,
    commodity: series.commodity,
    actual: measured > 0 ? round(actual, 3) : null,
    expected: hasExpected ? round(expected, 3) : null,
    expectedLow: hasExpected ? round(Math.max(0, expected - band), 3) : null,
    expectedHigh: hasExpected ? round(expected + band, 3) : null,
    excess: findingExcess,
    costCny,
    confidence,
    variant: raw.variant,
    reason,
    evidence: evidenceOf(analysis, clock, from, to),
  };
}

function evidenceOf(analysis: MeterAnalysis, clock: SlotClock, from: number, to: number): FindingEvidence {
  const first = Math.max(0, Math.max(from - EVIDENCE_BEFORE_SLOTS, to - EVIDENCE_MAX_SLOTS));
  const last = Math.min(clock.slots, to + 16);
  const pick = (array: Float64Array, transform: (x: number, s: number) => number = (x) => x) =>
    Array.from({ length: last - first }, (_, i) => {
      const x = array[first + i]!;
      return Number.isNaN(x) ? null : round(transform(x, first + i), 4);
    });
  return {
    from: clock.start + first * SLOT_MS,
    step: SLOT_MS,
    actual: pick(analysis.series.values),
    expected: pick(analysis.expected),
    lower: pick(analysis.expected, (x, s) => Math.max(0, x - analysis.band[s]!)),
    upper: pick(analysis.expected, (x, s) => x + analysis.band[s]!),
  };
}

interface Facts {
  label: string;
  unit: string;
  water: boolean;
  start: number;
  end: number;
  zone: string;
  actual: number | null;
  expected: number | null;
  band: number | null;
  excess: number | null;
  cost: number | null;
  confidence: number;
}

function when(ts: number, zone: string, locale: 'en' | 'zh'): string {
  const t = DateTime.fromMillis(ts, { zone });
  return locale === 'en' ? t.setLocale('en-GB').toFormat('ccc d LLL HH:mm') : t.setLocale('zh-CN').toFormat('M月d日（ccc）HH:mm');
}

function span(f: Facts, locale: 'en' | 'zh', ongoing: boolean): string {
  const a = when(f.start, f.zone, locale);
  if (ongoing) return locale === 'en' ? `since ${a}` : `自${a}起`;
  const sameDay = DateTime.fromMillis(f.start, { zone: f.zone }).hasSame(DateTime.fromMillis(f.end - 1, { zone: f.zone }), 'day');
  const b = sameDay ? DateTime.fromMillis(f.end, { zone: f.zone }).toFormat('HH:mm') : when(f.end, f.zone, locale);
  return locale === 'en' ? `from ${a} to ${b}` : `${a}至${b}`;
}

function sentences(raw: RawFinding, f: Facts): { en: string; zh: string } {
  const u = f.unit;
  const pct = Math.round(f.confidence * 100);
  const costEn = f.cost !== null ? `, about ¥${fmt(f.cost)}` : '';
  const costZh = f.cost !== null ? `，约 ¥${fmt(f.cost)}` : '';
  const sureEn = ` (${pct}% sure)`;
  const sureZh = `（置信度 ${pct}%）`;
  const what = f.water ? '用水' : '用电';
  const expectedEn = f.expected !== null && f.band !== null ? ` against ${fmt(f.expected)} ${u} expected (normal up to ${fmt(f.expected + f.band)})` : '';
  const expectedZh = f.expected !== null && f.band !== null ? `，预期 ${fmt(f.expected)} ${u}（正常不超过 ${fmt(f.expected + f.band)}）` : '';
  const actual = f.actual !== null ? fmt(f.actual) : '?';
  const excess = f.excess !== null ? fmt(f.excess) : '?';
  const d = raw.detail;
  switch (raw.detector) {
    case 'baseline':
      return {
        en: `${f.label} used ${actual} ${u} ${span(f, 'en', raw.ongoing)}${expectedEn}: ${excess} ${u} more than usual${costEn}${sureEn}.`,
        zh: `${f.label} ${span(f, 'zh', raw.ongoing)}${what} ${actual} ${u}${expectedZh}，比平常多 ${excess} ${u}${costZh}${sureZh}。`,
      };
    case 'level_shift': {
      const up = raw.variant === 'up';
      return {
        en: `${f.label}'s consumption shifted ${up ? 'up' : 'down'} suddenly ${span(f, 'en', raw.ongoing)} and stayed there: ${actual} ${u}${expectedEn}${up && f.excess !== null ? `, ${excess} ${u} extra${costEn}` : ''}${sureEn}.`,
        zh: `${f.label} ${span(f, 'zh', raw.ongoing)}${what}水平突然${up ? '上升' : '下降'}并持续：${actual} ${u}${expectedZh}${up && f.excess !== null ? `，多用 ${excess} ${u}${costZh}` : ''}${sureZh}。`,
      };
    }
    case 'spike':
      return {
        en: `${f.label} read ${actual} ${u} in the 15 minutes to ${when(f.end, f.zone, 'en')}, ${d.expected ? `${fmt((d.value ?? 0) / Math.max(d.expected, 1e-9))}×` : 'far above'} the ${fmt(d.expected ?? 0)} ${u} expected${sureEn}.`,
        zh: `${f.label} 在截至${when(f.end, f.zone, 'zh')}的 15 分钟内读数 ${actual} ${u}，是预期 ${fmt(d.expected ?? 0)} ${u} 的 ${fmt((d.value ?? 0) / Math.max(d.expected ?? 1, 1e-9))} 倍${sureZh}。`,
      };
    case 'base_load':
      return {
        en: `${f.label}'s night base load rose to ${fmt(d.nightMin ?? 0)} ${u}/h (usually ${fmt(d.usualNightMin ?? 0)}) ${span(f, 'en', raw.ongoing)}, ${d.nights ?? 0} nights running: something stays on around the clock, ${excess} ${u} so far${costEn}${sureEn}.`,
        zh: `${f.label} 夜间基础负荷${span(f, 'zh', raw.ongoing)}升至 ${fmt(d.nightMin ?? 0)} ${u}/h（平常 ${fmt(d.usualNightMin ?? 0)}），已连续 ${d.nights ?? 0} 晚：有设备昼夜未关，累计多用 ${excess} ${u}${costZh}${sureZh}。`,
      };
    case 'leak':
      return {
        en: `Water meter ${f.label} never fell below ${fmt(d.nightMin ?? 0)} ${u}/h at night (usually ${fmt(d.usualNightMin ?? 0)}) ${span(f, 'en', raw.ongoing)}, ${d.nights ?? 0} nights running: a possible leak, ${excess} ${u} so far${costEn}${sureEn}.`,
        zh: `水表 ${f.label} ${span(f, 'zh', raw.ongoing)}夜间流量始终不低于 ${fmt(d.nightMin ?? 0)} ${u}/h（平常 ${fmt(d.usualNightMin ?? 0)}），已连续 ${d.nights ?? 0} 晚：疑似漏水，累计 ${excess} ${u}${costZh}${sureZh}。`,
      };
    case 'stuck':
      return {
        en: `${f.label} ${raw.variant === 'gauge' ? 'froze at one value' : 'stopped counting'} ${span(f, 'en', raw.ongoing)} while it normally always moves then${f.expected !== null ? `: about ${fmt(f.expected)} ${u} not measured` : ''}; check the meter and its wiring${sureEn}.`,
        zh: `${f.label} ${span(f, 'zh', raw.ongoing)}${raw.variant === 'gauge' ? '读数冻结不变' : '停止计量'}，而此时段通常一直有读数${f.expected !== null ? `：约 ${fmt(f.expected)} ${u} 未计量` : ''}；请检查表计及接线${sureZh}。`,
      };
    case 'comm_loss':
      return {
        en: raw.ongoing
          ? `No data from ${f.label} ${span(f, 'en', true)} (${fmt(d.hours ?? 0)} h so far): check its gateway, wiring and address.`
          : `No data from ${f.label} ${span(f, 'en', false)} (${fmt(d.hours ?? 0)} h); the reading that ended the gap is spread over it, not counted as a spike.`,
        zh: raw.ongoing
          ? `${f.label} ${span(f, 'zh', true)}无数据（已 ${fmt(d.hours ?? 0)} 小时）：请检查网关、接线和地址。`
          : `${f.label} ${span(f, 'zh', false)}无数据（${fmt(d.hours ?? 0)} 小时）；恢复后的读数已分摊到中断期间，不计为尖峰。`,
      };
    case 'counter_reset': {
      const kind = raw.variant ?? 'reset';
      const en = { reset: 'reset (meter replaced or cleared)', rollover: 'rolled over', negative_step: 'stepped back', jump: 'jumped impossibly' }[kind] ?? kind;
      const zh = { reset: '清零（换表或复位）', rollover: '溢出归零', negative_step: '倒退', jump: '异常跳变' }[kind] ?? kind;
      // Live, the edge's flag gives the reading after the event only.
      const before = Number.isFinite(d.before) ? d.before! : undefined;
      const after = Number.isFinite(d.after) ? d.after! : undefined;
      const values = after === undefined ? '' : before !== undefined ? ` from ${fmt(before)} to ${fmt(after)} ${u}` : ` to ${fmt(after)} ${u}`;
      const valuesZh = after === undefined ? '' : before !== undefined ? `由 ${fmt(before)} 变为 ${fmt(after)} ${u}` : `变为 ${fmt(after)} ${u}`;
      return {
        en: `${f.label}'s register ${en}${values} at ${when(f.end, f.zone, 'en')}: not counted as consumption.`,
        zh: `${f.label} 的累计读数在${when(f.end, f.zone, 'zh')}${zh}${valuesZh ? `，${valuesZh}` : ''}：不计入用量。`,
      };
    }
    case 'main_sub':
      return {
        en: `${f.label} measured ${excess} ${u} more than its sub-meters account for ${span(f, 'en', raw.ongoing)} (beyond its usual ${fmt((d.usualShare ?? 0) * 100)}% of losses and common areas): an unmetered load or a sub-meter reading low${costEn}${sureEn}.`,
        zh: `${f.label} ${span(f, 'zh', raw.ongoing)}比各分表之和多计 ${excess} ${u}（超出平常 ${fmt((d.usualShare ?? 0) * 100)}% 的损耗与公共用量）：存在未计量负荷或分表少计${costZh}${sureZh}。`,
      };
  }
}
