import { idSchema } from '@gatehouse/contracts';
import { z } from 'zod';
import type { PlanDefinition } from './maintenance-plans.js';
import { isoDateSchema, PLAN_UNITS } from './plan-schedule.js';
import { PLAN_TEMPLATES, planTemplate } from './plan-templates.js';
import { WORK_ORDER_CATEGORIES } from './work-order-rules.js';

const TEMPLATE_IDS = PLAN_TEMPLATES.map((t) => t.id) as [string, ...string[]];

/** Plain text, trimmed, with a length limit that names what it limits. */
const text = (max: number, what: string) => z.string().trim().min(1, `expected ${what}`).max(max, `expected ${what} of at most ${max} characters`);

export const calendarRuleSchema = z
  .object({
    every: z.number().int().min(1).max(366),
    unit: z.enum(PLAN_UNITS),
    /** weekly plans: ISO weekdays, 1 Monday … 7 Sunday */
    weekdays: z.array(z.number().int().min(1).max(7)).min(1).max(7).optional(),
  })
  .strict()
  .refine((r) => r.weekdays === undefined || r.unit === 'week', { message: 'weekdays apply to weekly plans only', path: ['weekdays'] });

export const usageRuleSchema = z
  .object({
    /** the meter whose counter is read */
    device: idSchema,
    /** its cumulative metric, e.g. energy_import_kwh, water_m3, run_hours */
    metric: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a metric name such as energy_import_kwh'),
    /** an order once it has advanced this much since the last one */
    every: z.number().positive().max(1e12),
  })
  .strict();

/**
 * A plan as a person or the configuration writes it: a template (lift_15_day, fire_monthly,
 * pump_service) fills in what is left out.
 */
export const planInputSchema = z
  .object({
    site: idSchema,
    asset: idSchema,
    template: z.enum(TEMPLATE_IDS).optional(),
    name: text(200, 'a name').optional(),
    category: z.enum(WORK_ORDER_CATEGORIES).optional(),
    priority: z.number().int().min(1).max(4).optional(),
    team: idSchema,
    checklist: z.array(text(200, 'a checklist item')).max(50).optional(),
    calendar: calendarRuleSchema.nullable().optional(),
    startsOn: isoDateSchema,
    leadDays: z.number().int().min(0).max(90).optional(),
    usage: usageRuleSchema.nullable().optional(),
    active: z.boolean().default(true),
  })
  .strict();

export type PlanInput = z.output<typeof planInputSchema>;

/** The full definition of a plan, its template filling the gaps; throws naming what is missing. */
export function resolvePlan(input: PlanInput, language: 'zh-CN' | 'en'): PlanDefinition {
  const template = input.template === undefined ? undefined : planTemplate(input.template);
  const missing = (['name', 'category', 'priority'] as const).filter((k) => input[k] === undefined && template === undefined);
  if (missing.length > 0) throw new Error(`a plan without a template needs ${missing.join(', ')}`);
  const calendar = input.calendar === undefined ? (template?.calendar ?? null) : input.calendar;
  const usage = input.usage ?? null;
  if (calendar === null && usage === null) throw new Error('a plan needs a calendar (every N days, weeks or months), a usage threshold, or both');
  return {
    site: input.site,
    asset: input.asset,
    name: input.name ?? template!.name[language],
    template: input.template ?? null,
    category: input.category ?? template!.category,
    priority: input.priority ?? template!.priority,
    team: input.team,
    checklist: input.checklist ?? template?.checklist[language] ?? [],
    calendar: calendar === null ? null : { every: calendar.every, unit: calendar.unit, ...(calendar.weekdays ? { weekdays: [...new Set(calendar.weekdays)].sort() } : {}) },
    startsOn: input.startsOn,
    leadDays: input.leadDays ?? template?.leadDays ?? 0,
    usage,
    active: input.active,
  };
}
