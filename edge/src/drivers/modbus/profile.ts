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
}

export interface DeviceProfile {
  id: string;
  manufacturer: string;
  model: string;
  measures: 'electricity' | 'water' | 'gas' | 'heat';
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
    if (p.address + registerCount(p.type) > 0x10000) {
      throw new ConfigError(file, [{ path: `points[${i}].address`, message: 'value runs past register 65535' }]);
    }
  }
  return { id: raw.id, manufacturer: raw.manufacturer, model: raw.model, measures: raw.measures, points };
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
