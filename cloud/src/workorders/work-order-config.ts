import { idSchema } from '@gatehouse/contracts';
import { z } from 'zod';
import { DETECTORS } from '../detection/findings.js';
import { planInputSchema, resolvePlan } from './plan-input.js';
import { minuteOfDay } from './sla.js';
import { WORK_ORDER_CATEGORIES } from './work-order-rules.js';

const prioritySchema = z.number().int().min(1).max(4);
const hhmm = z.string().refine((v) => {
  try {
    minuteOfDay(v);
    return true;
  } catch {
    return false;
  }
}, 'expected a time of day HH:MM');

/** A team that orders go to: its members may be assigned its orders and are told of them. */
const teamSchema = z
  .object({
    id: idSchema,
    name: z.string().min(1).max(128),
    /** the sites it works on; all when left out */
    sites: z.array(idSchema).optional(),
    /** usernames of its members */
    members: z.array(z.string().min(1).max(64)).default([]),
    /** e-mail addresses told of new orders, assignments and SLA breaches (needs alarms.smtp) */
    email: z.array(z.email()).default([]),
    /** webhook urls POSTed the same, signed as alarm webhooks are (x-gatehouse-signature) */
    webhooks: z.array(z.object({ url: z.string().regex(/^https?:\/\/[^/\s]+/, 'expected an http:// or https:// url'), secret: z.string().min(16) }).strict()).default([]),
  })
  .strict();

/** Fault alarms that can raise orders: a device or gateway down for long, a meter not answering, a device fault. */
export const FAULT_TYPES = ['device_offline', 'gateway_offline', 'meter_comm_error', 'device_fault'] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/** Which problems raise orders on which sites, and for whom. The first rule that matches applies. */
const ruleSchema = z
  .object({
    /** the sites it applies to; all when left out */
    sites: z.array(idSchema).optional(),
    /** energy findings of these detectors (e.g. stuck, leak, base_load) */
    findings: z.array(z.enum(DETECTORS)).default([]),
    /** only findings on meters of these commodities; all when left out */
    commodities: z.array(z.enum(['electricity', 'water', 'other'])).optional(),
    /** a finding raises an order once it is at least this sure */
    minConfidence: z.number().min(0).max(1).default(0.8),
    /** fault alarms of these types */
    faults: z.array(z.enum(FAULT_TYPES)).default([]),
    /** a fault raises an order once it has lasted this long (a reader that reboots is no job) */
    faultAfterMinutes: z.number().int().min(0).max(10_080).default(30),
    category: z.enum(WORK_ORDER_CATEGORIES),
    priority: prioritySchema,
    /** the team the order goes to */
    team: idSchema,
  })
  .strict();

/** How long an order of each priority may wait for a response (started) and a resolution (completed). */
const slaSchema = z
  .object({ responseMinutes: z.number().int().min(1).max(100_000), resolutionMinutes: z.number().int().min(1).max(1_000_000) })
  .strict();

export const workOrdersConfigSchema = z
  .object({
    /** raise orders from findings and faults (the rules below) */
    enabled: z.boolean().default(true),
    /** the language of the titles, checklists and notes the raiser writes (the facilities team's) */
    language: z.enum(['zh-CN', 'en']).default('zh-CN'),
    /** how often the raiser looks for new findings and faults, and SLA breaches */
    checkEveryMs: z.number().int().min(100).max(600_000).default(2_000),
    teams: z.array(teamSchema).default([]),
    rules: z.array(ruleSchema).default([]),
    /** preventive maintenance plans (维保计划) kept by the configuration, by key; the console adds others */
    plans: z.array(planInputSchema.extend({ key: idSchema })).default([]),
    /** SLA per priority "1" … "4" */
    sla: z
      .object({ '1': slaSchema, '2': slaSchema, '3': slaSchema, '4': slaSchema })
      .strict()
      .default({
        '1': { responseMinutes: 15, resolutionMinutes: 240 },
        '2': { responseMinutes: 60, resolutionMinutes: 480 },
        '3': { responseMinutes: 240, resolutionMinutes: 1_440 },
        '4': { responseMinutes: 480, resolutionMinutes: 4_320 },
      }),
    /** categories whose SLA counts around the clock; the others count working hours only */
    roundTheClock: z.array(z.enum(WORK_ORDER_CATEGORIES)).default(['electrical', 'plumbing', 'lift', 'fire', 'security']),
    /** the facilities team's working hours on working days (the detection calendar's), site time */
    workingHours: z.object({ start: hhmm.default('08:30'), end: hhmm.default('17:30') }).strict().prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const teams = new Set(config.teams.map((t) => t.id));
    config.teams.forEach((t, i) => {
      if (config.teams.findIndex((o) => o.id === t.id) !== i) ctx.addIssue({ code: 'custom', path: ['teams', i, 'id'], message: `team "${t.id}" is declared twice` });
    });
    config.rules.forEach((rule, i) => {
      if (!teams.has(rule.team)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'team'], message: `unknown team "${rule.team}" (declared: ${[...teams].join(', ') || 'none'})` });
      if (rule.findings.length === 0 && rule.faults.length === 0) ctx.addIssue({ code: 'custom', path: ['rules', i], message: 'a rule needs findings or faults to raise orders from' });
    });
    config.plans.forEach((plan, i) => {
      if (config.plans.findIndex((o) => o.key === plan.key) !== i) ctx.addIssue({ code: 'custom', path: ['plans', i, 'key'], message: `plan "${plan.key}" is declared twice` });
      if (!teams.has(plan.team)) ctx.addIssue({ code: 'custom', path: ['plans', i, 'team'], message: `unknown team "${plan.team}" (declared: ${[...teams].join(', ') || 'none'})` });
      try {
        resolvePlan(plan, config.language);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['plans', i], message: (err as Error).message });
      }
    });
    // (Refinements run on invalid times too: those are reported already.)
    const minute = (hhmm: string) => {
      try {
        return minuteOfDay(hhmm);
      } catch {
        return Number.NaN;
      }
    };
    if (minute(config.workingHours.end) <= minute(config.workingHours.start)) {
      ctx.addIssue({ code: 'custom', path: ['workingHours'], message: 'working hours must end after they start' });
    }
  });

export type WorkOrdersConfig = z.output<typeof workOrdersConfigSchema>;
export type WorkOrdersConfigInput = z.input<typeof workOrdersConfigSchema>;
export type WorkOrderRule = WorkOrdersConfig['rules'][number];
export type TeamConfig = WorkOrdersConfig['teams'][number];
