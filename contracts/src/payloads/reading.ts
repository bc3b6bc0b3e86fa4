import { z } from 'zod';
import { idSchema } from '../ids.js';

/**
 * How far a value can be trusted. `good` is the only quality whose counter deltas count as consumption;
 * the counter_* qualities are set by the edge when a cumulative counter misbehaves, so that a meter swap
 * or a glitch never shows up as a huge false spike of consumption.
 */
export const QUALITIES = [
  'good',
  /** the device answered, but the value has not changed for longer than expected */
  'stale',
  /** no answer: timeout, connection refused, garbled frame */
  'comm_error',
  /** the device answered with a Modbus exception; `detail` holds the code */
  'device_exception',
  /** a value that cannot be right (NaN, out of the physical range of the metric) */
  'bad_value',
  'counter_reset',
  'counter_rollover',
  'counter_negative_step',
  'counter_jump',
] as const;

export const qualitySchema = z.enum(QUALITIES);
export type Quality = z.infer<typeof qualitySchema>;

/** Earliest timestamp accepted: nothing on a site predates the year 2000. */
export const MIN_TIMESTAMP_MS = Date.UTC(2000, 0, 1);

export const timestampMsSchema = z
  .number()
  .int('expected an integer number of milliseconds since 1970-01-01T00:00:00Z')
  .min(MIN_TIMESTAMP_MS, 'expected a time after 2000-01-01T00:00:00Z');

export const readingSchema = z.object({
  /** device id, unique within the site */
  device: idSchema,
  /** metric name from the device profile, e.g. `active_power`, `import_energy` */
  metric: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a snake_case metric name'),
  /** unit of `value` (UCUM-style symbols: V, A, W, kWh, m3, Hz, ...) */
  unit: z.string().max(16),
  /**
   * `counter` for a cumulative register (energy, volume) whose steps are consumption; absent or `gauge`
   * for an instantaneous value. Rollups sum a counter's trusted steps and take min/max/mean of a gauge.
   */
  kind: z.enum(['gauge', 'counter']).optional(),
  /** when the device was read, epoch milliseconds UTC */
  ts: timestampMsSchema,
  /** the value; null when the quality says there is none (comm_error, device_exception) */
  value: z.number().finite('expected a finite number').nullable(),
  quality: qualitySchema,
  /** free text that explains a quality other than good, e.g. "exception 2: illegal data address" */
  detail: z.string().max(256).optional(),
  /**
   * set when the gateway compacted a run of good gauge readings to save disk during a long outage:
   * `value` is their mean, `ts` the last one's time
   */
  aggregate: z
    .object({
      count: z.number().int().min(1),
      min: z.number().finite(),
      max: z.number().finite(),
      /** time of the first reading aggregated, epoch ms */
      from: timestampMsSchema,
    })
    .optional(),
});

export type Reading = z.infer<typeof readingSchema>;
