/**
 * What the detectors report. A finding is one ongoing problem of one meter: it grows while the problem
 * lasts (one finding, not one per interval) and says in one sentence, in Chinese and English, what is
 * wrong, how sure the detector is and what it costs.
 */
export const DETECTORS = ['baseline', 'base_load', 'spike', 'level_shift', 'stuck', 'comm_loss', 'counter_reset', 'leak', 'main_sub'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** 0 = none; detector i is stored as i + 1 in per-slot arrays. */
export function detectorCode(name: DetectorName): number {
  return DETECTORS.indexOf(name) + 1;
}

export type Commodity = 'electricity' | 'water' | 'other';

export interface FindingEvidence {
  /** start of the first 15-minute slot of the slice (ms) */
  from: number;
  /** slot width (ms) */
  step: number;
  /** consumption per slot, null where nothing was measured */
  actual: (number | null)[];
  /** expected consumption per slot, and the band it may normally stray within */
  expected: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
}

export interface Finding {
  meter: string;
  detector: DetectorName;
  /** start and end (exclusive) of the problem, ms; `ongoing` when it had not ended at the last data */
  start: number;
  end: number;
  ongoing: boolean;
  unit: string;
  commodity: Commodity;
  /** consumption over the finding, and what the baseline expected, with its band */
  actual: number | null;
  expected: number | null;
  expectedLow: number | null;
  expectedHigh: number | null;
  /** consumption beyond what was expected (kWh, m³), never negative; null where not a matter of excess */
  excess: number | null;
  /** cost of the excess in CNY at the site's tariff, null without a tariff */
  costCny: number | null;
  /** 0.5–0.99: how sure the detector is that this is a real problem */
  confidence: number;
  /** a detector-specific kind: reset / rollover / negative_step, up / down, … */
  variant: string | null;
  reason: { en: string; zh: string };
  evidence: FindingEvidence | null;
}

/** Confidence from how far beyond its threshold a signal is (z ≥ 1 at the threshold) and for how long. */
export function confidenceOf(zOverThreshold: number, hours: number): number {
  const strength = Math.max(0, zOverThreshold - 1) * Math.sqrt(Math.max(1, hours));
  return Math.round(Math.min(0.99, 0.6 + 0.39 * (1 - Math.exp(-strength))) * 100) / 100;
}
