import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, loadConfigFile } from '@gatehouse/contracts';

export const REGISTER_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'bool'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

/**
 * Word and byte order of multi-register values, named by where bytes A (most significant) .. D land:
 * ABCD big-endian, CDAB word-swapped, BADC byte-swapped, DCBA little-endian.
 */
export const WORD_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type WordOrder = (typeof WORD_ORDERS)[number];

/** holding (FC03) and input (FC04) registers; coils (FC01) and discrete inputs (FC02) are bits */
/**
 * schneider-power-factor: Schneider's four-quadrant register (-2..+2) → signed power factor (-1..+1),
 * as in the iEM3000 manual: r in [-2,-1] → -2-r, r in [1,2] → 2-r, otherwise r.
 */
export const POINT_TRANSFORMS = ['schneider-power-factor'] as const;
export type PointTransform = (typeof POINT_TRANSFORMS)[number];

export const REGISTER_FUNCTIONS = ['holding', 'input', 'coil', 'discrete'] as const;
export type RegisterFunction = (typeof REGISTER_FUNCTIONS)[number];

const pointSchema = z
  .object({
    metric: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a snake_case metric name'),
    /** 0-based register address (protocol address, not the 3xxxx/4xxxx "reference") */
    address: z.number().int().min(0).max(0xffff),
    function: z.enum(REGISTER_FUNCTIONS).optional(),
    type: z.enum(REGISTER_TYPES).optional(),
    order: z.enum(WORD_ORDERS).optional(),
    /** engineering value = raw * scale + offset */
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    unit: z.string().max(16),
    /** gauge: instantaneous; counter: cumulative (energy, volume), whose deltas are consumption */
    kind: z.enum(['gauge', 'counter']),
    /** a second register holding the fractional part, added to this one (e.g. TUF-2000M totalizers) */
    fraction: z
      .object({ address: z.number().int().min(0).max(0xffff), type: z.enum(REGISTER_TYPES), order: z.enum(WORD_ORDERS).optional() })
      .strict()
      .optional(),
    /** vendor-specific encodings turned into plain values after scaling */
    transform: z.enum(POINT_TRANSFORMS).optional(),
    /** the point is measured on the secondary side of a voltage (pt) or current (ct) transformer, or both */
    ratio: z.enum(['pt', 'ct', 'ptct']).optional(),
    /** counters: the engineering value at which the register wraps to zero (e.g. 99999999.9 kWh) */
    rolloverAt: z.number().positive().optional(),
    /** counters: the largest believable increase per hour; more is flagged as counter_jump */
    maxIncreasePerHour: z.number().positive().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const bitFunction = p.function === 'coil' || p.function === 'discrete';
    if (bitFunction && p.type !== undefined && p.type !== 'bool') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `coils and discrete inputs are bits: expected type bool, got ${p.type}` });
    }
    if (p.kind === 'gauge' && (p.rolloverAt !== undefined || p.maxIncreasePerHour !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: 'rolloverAt and maxIncreasePerHour apply to counters only' });
    }
  });

export const deviceProfileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected a profile id like "eastron-sdm630"'),
    manufacturer: z.string(),
    model: z.string(),
    measures: z.enum(['electricity', 'water', 'gas', 'heat']),
    /**
     * unwanted registers one read may bridge on this model, over the gateway's setting: safe to raise
     * where the manufacturer's map has no unreadable holes
     */
    maxGap: z.number().int().min(0).max(124).optional(),
    defaults: z
      .object({
        function: z.enum(REGISTER_FUNCTIONS).default('holding'),
        type: z.enum(REGISTER_TYPES).default('uint16'),
        order: z.enum(WORD_ORDERS).default('ABCD'),
      })
      .strict()
      .default({ function: 'holding', type: 'uint16', order: 'ABCD' }),
    points: z.array(pointSchema).min(1),
  })
  .strict();

export interface ProfilePoint {
  metric: string;
  address: number;
  function: RegisterFunction;
  type: RegisterType;
  order: WordOrder;
  scale: number;
  offset: number;
  unit: string;
  kind: 'gauge' | 'counter';
  rolloverAt?: number;
  maxIncreasePerHour?: number;
  fraction?: { address: number; type: RegisterType; order: WordOrder };
  transform?: PointTransform;
  ratio?: 'pt' | 'ct' | 'ptct';
}

export interface DeviceProfile {
  id: string;
  manufacturer: string;
  model: string;
  measures: 'electricity' | 'water' | 'gas' | 'heat';
  maxGap?: number;
  points: ProfilePoint[];
}

export function registerCount(type: RegisterType): number {
  switch (type) {
    case 'int16':
    case 'uint16':
    case 'bool':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    default:
      return 4;
  }
}

/** The registers a point occupies: its value and, when it has one, its fraction register. */
export function pointSpan(p: Pick<ProfilePoint, 'address' | 'type' | 'fraction'>): { start: number; end: number } {
  const end = p.address + registerCount(p.type);
  if (!p.fraction) return { start: p.address, end };
  return { start: Math.min(p.address, p.fraction.address), end: Math.max(end, p.fraction.address + registerCount(p.fraction.type)) };
}

/** Profiles shipped with the gateway; users add their own directories with `profileDirs`. */
export const BUILT_IN_PROFILE_DIR = fileURLToPath(new URL('../../../profiles/', import.meta.url));

export function loadProfileFile(file: string): DeviceProfile {
  const raw = loadConfigFile(file, deviceProfileSchema);
  const points: ProfilePoint[] = raw.points.map((p) => {
    const fn = p.function ?? raw.defaults.function;
    const isBit = fn === 'coil' || fn === 'discrete';
    return {
      metric: p.metric,
      address: p.address,
      function: fn,
      type: isBit ? 'bool' : (p.type ?? raw.defaults.type),
      order: p.order ?? raw.defaults.order,
      scale: p.scale,
      offset: p.offset,
      unit: p.unit,
      kind: p.kind,
      ...(p.fraction ? { fraction: { address: p.fraction.address, type: p.fraction.type, order: p.fraction.order ?? p.order ?? raw.defaults.order } } : {}),
      ...(p.transform ? { transform: p.transform } : {}),
      ...(p.ratio ? { ratio: p.ratio } : {}),
      ...(p.rolloverAt !== undefined ? { rolloverAt: p.rolloverAt } : {}),
      ...(p.maxIncreasePerHour !== undefined ? { maxIncreasePerHour: p.maxIncreasePerHour } : {}),
    };
  });
  const seen = new Set<string>();
  for (const [i, p] of points.entries()) {
    if (seen.has(p.metric)) throw new ConfigError(file, [{ path: `points[${i}].metric`, message: `metric "${p.metric}" is defined twice` }]);
    seen.add(p.metric);
    if (p.type === 'bool' && p.function !== 'coil' && p.function !== 'discrete') {
      throw new ConfigError(file, [{ path: `points[${i}].type`, message: 'bool applies to coils and discrete inputs; registers hold numbers' }]);
    }
    const span = pointSpan(p);
    if (span.end > 0x10000) {
      throw new ConfigError(file, [{ path: `points[${i}].address`, message: 'value runs past register 65535' }]);
    }
    if (span.end - span.start > 8) {
      throw new ConfigError(file, [{ path: `points[${i}].fraction.address`, message: 'the fraction register must lie within 8 registers of the value' }]);
    }
  }
  return { id: raw.id, manufacturer: raw.manufacturer, model: raw.model, measures: raw.measures, ...(raw.maxGap !== undefined ? { maxGap: raw.maxGap } : {}), points };
}

/** Loads every *.yaml profile in the given directories; later directories override earlier ones by id. */
export function loadProfiles(dirs: readonly string[]): Map<string, DeviceProfile> {
  const profiles = new Map<string, DeviceProfile>();
  for (const dir of dirs) {
    if (!existsSync(dir)) throw new ConfigError(dir, [{ path: '(directory)', message: 'profile directory does not exist' }]);
    for (const name of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const profile = loadProfileFile(join(dir, name));
      profiles.set(profile.id, profile);
    }
  }
  return profiles;
}
