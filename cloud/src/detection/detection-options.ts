import { z } from 'zod';

/**
 * The detectors' knobs, with the defaults the evaluation reports (docs/energy-detection.md explains
 * each). Hours are local hours of the site's time zone.
 */
export const detectionOptionsSchema = z
  .object({
    /** days of data (with at least 20 measured hours each) before a meter's baseline is trusted */
    minHistoryDays: z.number().int().min(7).max(90).default(14),
    /** how far back the hour-of-week baseline looks, and how many days of each kind it keeps */
    profileDays: z.number().int().min(14).max(365).default(56),
    profileWorkdays: z.number().int().min(3).max(60).default(20),
    profileRestDays: z.number().int().min(3).max(30).default(8),
    /** days over which the level of the baseline follows drift (season, weather, occupancy) */
    levelDays: z.number().int().min(1).max(14).default(3),
    baseline: z
      .object({
        /** band: the larger of `sigmas` robust standard deviations and `relative` × expected */
        sigmas: z.number().positive().default(4),
        relative: z.number().positive().default(0.45),
        /** hours above the band before it is a finding (one hour is enough at `singleHourScore`) */
        minHours: z.number().int().min(1).default(2),
        singleHourScore: z.number().positive().default(2.5),
      })
      .strict()
      .prefault({}),
    /** an excess (or shortfall) that lasts this long is a level shift, and the baseline moves to it */
    levelShiftHours: z.number().int().min(3).max(72).default(12),
    spike: z
      .object({
        /** a 15-minute value this many times the expected one, and beyond `sigmas` of its spread */
        ratio: z.number().min(1.5).default(4),
        sigmas: z.number().positive().default(8),
      })
      .strict()
      .prefault({}),
    /** 15-minute slots without a step (counter) or without change (gauge) when the meter always moves then */
    stuckSlots: z.number().int().min(2).default(8),
    baseLoad: z
      .object({
        /** the night window whose lowest hour is the base load, [from, to) local hours */
        nightHours: z.tuple([z.number().int().min(0).max(23), z.number().int().min(1).max(24)]).default([0, 5]),
        relative: z.number().positive().default(0.3),
        sigmas: z.number().positive().default(4),
        /** consecutive high nights before it is a finding */
        nights: z.number().int().min(1).default(2),
      })
      .strict()
      .prefault({}),
    leak: z
      .object({
        nightHours: z.tuple([z.number().int().min(0).max(23), z.number().int().min(1).max(24)]).default([1, 5]),
        /** the lowest night hour above its usual level by this fraction of the meter's typical peak hour */
        fractionOfPeak: z.number().positive().default(0.03),
        sigmas: z.number().positive().default(4),
        nights: z.number().int().min(1).default(2),
      })
      .strict()
      .prefault({}),
    /** no data for longer than this is a communication loss */
    commLossMinutes: z.number().int().min(16).default(60),
    mainSub: z
      .object({
        /** main − Σ sub-meters, as a share of the main meter, may stray this far from its usual value */
        tolerance: z.number().positive().default(0.05),
        hours: z.number().int().min(1).default(6),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type DetectionOptions = z.output<typeof detectionOptionsSchema>;
export type DetectionOptionsInput = z.input<typeof detectionOptionsSchema>;

export function detectionOptions(input: DetectionOptionsInput = {}): DetectionOptions {
  return detectionOptionsSchema.parse(input);
}
