import { z } from 'zod';
import { detectionOptionsSchema } from './detection-options.js';

/** The cloud's `detection` section: the live detectors over every site's meters. */
export const detectionConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** how often the detectors look at what arrived */
    everyMs: z.number().int().min(1000).default(60_000),
    /** counter metrics that are meters (the first a device has is its meter) */
    metrics: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/)).min(1).default(['import_energy', 'total_energy', 'volume']),
    /** working calendar: cn, none or a calendar file (docs/energy-detection.md) */
    calendar: z.string().default('cn'),
    /** findings starting this many days back are re-judged when late or replayed data arrives */
    reanalyseDays: z.number().int().min(1).max(28).default(7),
    settings: detectionOptionsSchema.prefault({}),
  })
  .strict();

export type DetectionConfig = z.output<typeof detectionConfigSchema>;
