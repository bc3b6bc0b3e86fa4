import type { Logger } from 'pino';
import { ms } from '../alarms/alarm-store.js';
import { ApiError } from '../api/errors.js';
import { auditLog } from '../audit/audit-log.js';
import type { SqlClient, SqlExecutor } from '../storage/sql-client.js';
import { addDays, dueAfter, firstDue, localDate, startOfLocalDay, type CalendarRule, type PlanUnit } from './plan-schedule.js';
import { planTemplate } from './plan-templates.js';
import type { WorkOrderService } from './work-order-service.js';
import type { WorkOrderCategory, WorkOrderState } from './work-order-rules.js';

/** The counter a usage-based plan reads (run hours, kWh, m³): the meter's latest cumulative value. */
export type UsageReader = (site: string, device: string, metric: string) => Promise<number | undefined>;

export interface UsageRule {
  device: string;
  metric: string;
  /** an order once the counter has advanced this much since the last order */
  every: number;
}

/** What a plan is: which asset, what work, for whom, and when (calendar and/or usage, whichever first). */
export interface PlanDefinition {
  site: string;
  asset: string;
  name: string;
  template: string | null;
  category: WorkOrderCategory;
  priority: number;
  team: string;
  checklist: string[];
  calendar: CalendarRule | null;
  startsOn: string;
  leadDays: number;
  usage: UsageRule | null;
  active: boolean;
}

export interface PlanOccurrence {
  id: string;
  planId: string;
  dueOn: string;
  trigger: 'calendar' | 'usage';
  outcome: 'raised' | 'skipped';
  orderId: string | null;
  orderNumber: string | null;
  orderState: WorkOrderState | null;
  reason: string | null;
  actor: string;
  recordedAt: number;
}

/** Where a plan stands: its next calendar due date (and when that order is raised), and its usage. */
export interface PlanOutlook {
  nextDueOn: string | null;
  raiseOn: string | null;
  /** how far the usage count has come since the last order: `since` of `every`, the counter now `current` */
  usageProgress: { since: number | null; every: number; current: number | null } | null;
}

export interface MaintenancePlan extends PlanDefinition, PlanOutlook {
  id: string;
  key: string | null;
  createdBy: string;
  createdAt: number;
  lastOccurrence: PlanOccurrence | null;
}

export interface PlanRound {
  raised: number;
  skipped: number;
}

/** One day on the plan calendar: recorded (raised or skipped) or foreseen. */
export interface CalendarEntry {
  planId: string;
  planName: string;
  site: string;
  asset: string;
  category: WorkOrderCategory;
  dueOn: string;
  status: 'raised' | 'skipped' | 'planned';
  orderId: string | null;
  orderNumber: string | null;
  orderState: WorkOrderState | null;
}

interface PlanRow {
  id: string;
  key: string | null;
  site: string;
  asset: string;
  name: string;
  template: string | null;
  category: WorkOrderCategory;
  priority: number;
  team: string;
  checklist: string[];
  everyN: number | null;
  everyUnit: PlanUnit | null;
  weekdays: number[] | null;
  startsOn: string;
  usageDevice: string | null;
  usageMetric: string | null;
  usageEvery: number | null;
  usageBaseline: number | null;
  leadDays: number;
  active: boolean;
  createdBy: string;
  createdAt: number;
  timeZone: string;
}

const SELECT_PLANS = `
  SELECT p.id::text AS id, p.key, p.site, p.asset, p.name, p.template, p.category, p.priority, p.team, p.checklist,
         p.every_n AS "everyN", p.every_unit AS "everyUnit", p.weekdays, to_char(p.starts_on, 'YYYY-MM-DD') AS "startsOn",
         p.usage_device AS "usageDevice", p.usage_metric AS "usageMetric", p.usage_every AS "usageEvery", p.usage_baseline AS "usageBaseline",
         p.lead_days AS "leadDays", p.active, p.created_by AS "createdBy", ${ms('p.created_at')} AS "createdAt", s.time_zone AS "timeZone"
    FROM maintenance_plans p JOIN sites s ON s.id = p.site`;

const SELECT_OCCURRENCES = `
  SELECT c.id::text AS id, c.plan_id::text AS "planId", to_char(c.due_on, 'YYYY-MM-DD') AS "dueOn", c.trigger, c.outcome,
         c.order_id::text AS "orderId", CASE WHEN o.id IS NULL THEN NULL ELSE 'WO-' || lpad(o.id::text, 6, '0') END AS "orderNumber",
         o.state AS "orderState", c.reason, c.actor, ${ms('c.recorded_at')} AS "recordedAt",
         to_char(o.completed_at AT TIME ZONE s.time_zone, 'YYYY-MM-DD') AS "completedOn"
    FROM plan_occurrences c JOIN maintenance_plans p ON p.id = c.plan_id JOIN sites s ON s.id = p.site
    LEFT JOIN work_orders o ON o.id = c.order_id`;

type OccurrenceRow = PlanOccurrence & { completedOn: string | null };

const ACTIVE_STATES: readonly WorkOrderState[] = ['open', 'assigned', 'in_progress', 'on_hold'];

/** A usage plan's meter is read this often at most (a service interval is days of usage, not seconds). */
const USAGE_CHECK_MS = 60_000;

/** The most occurrences projected on a calendar, per plan, so a daily plan over a year stays bounded. */
const MAX_PROJECTED = 400;

function calendarOf(row: PlanRow): CalendarRule | null {
  if (row.everyN === null || row.everyUnit === null) return null;
  return { every: row.everyN, unit: row.everyUnit, ...(row.weekdays?.length ? { weekdays: row.weekdays } : {}) };
}

function usageOf(row: PlanRow): UsageRule | null {
  if (row.usageDevice === null || row.usageMetric === null || row.usageEvery === null) return null;
  return { device: row.usageDevice, metric: row.usageMetric, every: row.usageEvery };
}

/**
 * The next calendar due date: after the last occurrence (from the day its order was completed, or its
 * due date while it is not), or the first on or after the plan's start that is not before the plan was
 * made (a plan made today does not owe the dates before it).
 */
export function nextCalendarDue(rule: CalendarRule, startsOn: string, createdOn: string, last: { dueOn: string; completedOn: string | null } | undefined): string {
  if (last) return dueAfter(rule, last.completedOn ?? last.dueOn);
  let due = firstDue(rule, startsOn);
  while (due < createdOn) due = dueAfter(rule, due);
  return due;
}

/**
 * Preventive maintenance plans (维保计划): each raises orders on its calendar and/or on the usage read
 * from a meter, whichever comes first, `leadDays` before a calendar date. Every occurrence is recorded,
 * raised or skipped: if the service was down past a whole interval, the latest occurrence is raised
 * and those it supersedes are recorded as skipped, with why; a person may skip one too, with a reason.
 */
export class MaintenancePlans {
  readonly name = 'plans';
  private readonly logger: Logger;
  /** when each usage plan's meter was last read by this instance */
  private readonly usageCheckedAt = new Map<string, number>();

  constructor(
    private readonly db: SqlClient,
    private readonly orders: WorkOrderService,
    private readonly readUsage: UsageReader,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = logger.child({ component: 'maintenance-plans' });
  }

  /**
   * One round: every active plan that came due raises its order, each in its own transaction under its
   * row lock. Which plans are due is read for all at once; a usage plan's meter is read at most every
   * USAGE_CHECK_MS.
   */
  async run(): Promise<PlanRound> {
    const round: PlanRound = { raised: 0, skipped: 0 };
    const now = this.now();
    const plans = await this.db.query<PlanRow>(`${SELECT_PLANS} WHERE p.active ORDER BY p.id`);
    const lasts = await this.lastOccurrences(plans.map((p) => p.id));
    const due = plans.filter((plan) => {
      const rule = calendarOf(plan);
      if (rule) {
        const next = nextCalendarDue(rule, plan.startsOn, localDate(plan.createdAt, plan.timeZone), lasts.get(plan.id));
        if (addDays(next, -plan.leadDays) <= localDate(now, plan.timeZone)) return true;
      }
      if (!usageOf(plan) || now - (this.usageCheckedAt.get(plan.id) ?? -Infinity) < USAGE_CHECK_MS) return false;
      this.usageCheckedAt.set(plan.id, now);
      return true;
    });
    for (const plan of due) {
      const id = plan.id;
      try {
        // The meter is read before the transaction: on PGlite's one connection a read beside an open
        // transaction would wait for it forever.
        const usage = usageOf(plan);
        const reading = usage ? { ...usage, counter: await this.readUsage(plan.site, usage.device, usage.metric) } : undefined;
        const r = await this.db.transaction((tx) => this.runPlan(tx, id, reading));
        round.raised += r.raised;
        round.skipped += r.skipped;
      } catch (err) {
        this.logger.error({ err, plan: id }, 'maintenance plan round failed');
      }
    }
    return round;
  }

  private async runPlan(tx: SqlExecutor, id: string, reading: (UsageRule & { counter: number | undefined }) | undefined): Promise<PlanRound> {
    const round: PlanRound = { raised: 0, skipped: 0 };
    // Another instance holding the plan is running it: leave it to that one.
    const [plan] = await tx.query<PlanRow>(`${SELECT_PLANS} WHERE p.id = $1 AND p.active FOR UPDATE OF p SKIP LOCKED`, [id]);
    if (!plan) return round;
    const now = this.now();
    const today = localDate(now, plan.timeZone);
    const last = await this.lastOccurrence(tx, id);
    const usage = usageOf(plan);
    // (A plan whose meter changed since it was read counts usage from the next round.)
    const counter = usage && reading && reading.device === usage.device && reading.metric === usage.metric ? reading.counter : undefined;

    const rule = calendarOf(plan);
    let raisedOn: string | undefined;
    if (rule) {
      const due: string[] = [];
      let next = nextCalendarDue(rule, plan.startsOn, localDate(plan.createdAt, plan.timeZone), last);
      while (addDays(next, -plan.leadDays) <= today && due.length < 1000) {
        due.push(next);
        next = dueAfter(rule, next);
      }
      const latest = due.pop();
      for (const missed of due) {
        const recorded = await this.record(tx, id, missed, 'calendar', 'skipped', null, `not raised in time (the service was not running); superseded by the occurrence due ${latest}`, 'system', null);
        if (recorded) round.skipped += 1;
      }
      if (latest !== undefined && (await this.raise(tx, plan, latest, 'calendar', now, counter, due))) {
        round.raised += 1;
        raisedOn = latest;
      }
    }

    if (usage && counter !== undefined && raisedOn === undefined) {
      const baseline = plan.usageBaseline;
      if (baseline === null || counter < baseline) {
        // Counting starts now; a counter that went back (a new meter) starts again from its new value.
        if (baseline !== null) this.logger.warn({ plan: id, baseline, counter }, 'usage counter went back: counting again from its new value');
        await tx.execute('UPDATE maintenance_plans SET usage_baseline = $2 WHERE id = $1', [id, counter]);
      } else if (counter - baseline >= usage.every && !(last?.orderState && ACTIVE_STATES.includes(last.orderState))) {
        if (await this.raise(tx, plan, today, 'usage', now, counter, [])) round.raised += 1;
      }
    }
    return round;
  }

  /** Raises the order of one occurrence and records it; false when it was recorded already. */
  private async raise(tx: SqlExecutor, plan: PlanRow, dueOn: string, trigger: 'calendar' | 'usage', now: number, counter: number | undefined, superseded: string[]): Promise<boolean> {
    // A calendar date comes due once; usage once per count from its baseline.
    const ref = trigger === 'calendar' ? `plan:${plan.id}:${dueOn}` : `plan:${plan.id}:usage:${plan.usageBaseline}`;
    if (trigger === 'calendar') {
      const [seen] = await tx.query("SELECT 1 FROM plan_occurrences WHERE plan_id = $1 AND due_on = $2::date AND trigger = 'calendar'", [plan.id, dueOn]);
      if (seen) return false;
    }
    const zh = this.orders.config.language === 'zh-CN';
    const template = plan.template ? planTemplate(plan.template) : undefined;
    const used = counter !== undefined && plan.usageBaseline !== null ? counter - plan.usageBaseline : null;
    const why =
      trigger === 'usage'
        ? zh
          ? `按用量到期：${plan.usageMetric} 自上次保养以来增加 ${used?.toFixed(1)}（计划每 ${plan.usageEvery}）。`
          : `Due by usage: ${plan.usageMetric} advanced ${used?.toFixed(1)} since the last service (plan: every ${plan.usageEvery}).`
        : zh
          ? `按计划到期：${dueOn}。`
          : `Due by the calendar on ${dueOn}.`;
    const skippedNote = superseded.length === 0 ? '' : zh ? ` 未按时生成、已记为跳过：${superseded.join('、')}。` : ` Not raised in time and recorded as skipped: ${superseded.join(', ')}.`;
    const description = [why + skippedNote, template ? template.basis[this.orders.config.language] : ''].filter(Boolean).join('\n');
    // Planned work is due by the end of its due date (or by the SLA, if sooner for a usage order).
    const endOfDue = startOfLocalDay(addDays(dueOn, 1), plan.timeZone);
    const raised = await this.orders.raise(
      tx,
      {
        site: plan.site,
        origin: 'plan',
        sourceKey: ref,
        title: `${plan.name} · ${dueOn}`,
        category: plan.category,
        priority: plan.priority,
        team: plan.team,
        description,
        evidence: { plan: { id: plan.id, name: plan.name, dueOn, trigger, template: plan.template, usage: used, usageEvery: plan.usageEvery, usageMetric: plan.usageMetric, superseded } },
        asset: plan.asset,
        device: plan.usageDevice,
        checklist: plan.checklist,
        ...(trigger === 'calendar' ? { plannedFor: { startsAt: startOfLocalDay(dueOn, plan.timeZone), resolutionDueAt: endOfDue } } : {}),
      },
      ref,
      now,
    );
    await this.record(tx, plan.id, dueOn, trigger, 'raised', raised?.id ?? null, null, 'system', counter ?? null);
    // Whichever comes first: a service restarts the usage count too.
    if (counter !== undefined) await tx.execute('UPDATE maintenance_plans SET usage_baseline = $2 WHERE id = $1', [plan.id, counter]);
    this.logger.info({ plan: plan.id, dueOn, trigger, order: raised?.id }, 'maintenance plan raised its order');
    return true;
  }

  private async record(tx: SqlExecutor, planId: string, dueOn: string, trigger: 'calendar' | 'usage', outcome: 'raised' | 'skipped', orderId: string | null, reason: string | null, actor: string, usage: number | null): Promise<boolean> {
    const n = await tx.execute(
      `INSERT INTO plan_occurrences (plan_id, due_on, trigger, outcome, order_id, reason, actor, usage_at_raise) VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (plan_id, due_on) WHERE trigger = 'calendar' DO NOTHING`,
      [planId, dueOn, trigger, outcome, orderId, reason, actor, usage],
    );
    return n > 0;
  }

  private async lastOccurrence(db: SqlExecutor, planId: string): Promise<OccurrenceRow | undefined> {
    const [row] = await db.query<OccurrenceRow>(`${SELECT_OCCURRENCES} WHERE c.plan_id = $1 ORDER BY c.due_on DESC, c.id DESC LIMIT 1`, [planId]);
    return row;
  }

  // ---- reading and changing plans ----

  /** Plans with their outlook; `withUsage: false` leaves the meters unread (usageProgress.current null). */
  async list(sites: readonly string[] | '*', filter: { site?: string; asset?: string } = {}, options: { withUsage?: boolean } = {}): Promise<MaintenancePlan[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (sites !== '*') where.push(`p.site = ANY($${params.push(sites)}::text[])`);
    if (filter.asset !== undefined) where.push(`p.asset = $${params.push(filter.asset)}`);
    const rows = await this.db.query<PlanRow>(`${SELECT_PLANS} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY p.site, p.asset, p.id`, params);
    const lasts = await this.lastOccurrences(rows.map((r) => r.id));
    return Promise.all(rows.map((r) => this.toPlan(r, lasts.get(r.id), options.withUsage ?? true)));
  }

  async get(id: string): Promise<(MaintenancePlan & { occurrences: PlanOccurrence[]; upcoming: string[] }) | undefined> {
    const [row] = await this.db.query<PlanRow>(`${SELECT_PLANS} WHERE p.id = $1`, [id]);
    if (!row) return undefined;
    const occurrences = await this.db.query<OccurrenceRow>(`${SELECT_OCCURRENCES} WHERE c.plan_id = $1 ORDER BY c.due_on DESC, c.id DESC LIMIT 200`, [id]);
    const plan = await this.toPlan(row, occurrences[0]);
    const upcoming: string[] = [];
    const rule = calendarOf(row);
    if (rule && plan.nextDueOn) for (let d = plan.nextDueOn; upcoming.length < 6; d = dueAfter(rule, d)) upcoming.push(d);
    return { ...plan, occurrences: occurrences.map(withoutCompletedOn), upcoming };
  }

  async siteOf(id: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ site: string }>('SELECT site FROM maintenance_plans WHERE id = $1', [id]);
    return row?.site;
  }

  /** The soonest next due date per asset (`${site}/${asset}`), of its active calendar plans. */
  async nextDueByAsset(sites: readonly string[] | '*'): Promise<Map<string, string>> {
    const plans = (await this.list(sites, {}, { withUsage: false })).filter((p) => p.active && p.nextDueOn !== null);
    const soonest = new Map<string, string>();
    for (const p of plans) {
      const key = `${p.site}/${p.asset}`;
      const known = soonest.get(key);
      if (known === undefined || p.nextDueOn! < known) soonest.set(key, p.nextDueOn!);
    }
    return soonest;
  }

  async create(definition: PlanDefinition, actor: string, key: string | null = null): Promise<MaintenancePlan> {
    const id = await this.db.transaction(async (tx) => {
      // A declared plan's meter may not have reported yet on a first start: its usage waits for it.
      await this.check(tx, definition, { deviceKnown: key === null });
      const [row] = await tx.query<{ id: string }>(
        `INSERT INTO maintenance_plans (key, site, asset, name, template, category, priority, team, checklist, every_n, every_unit, weekdays, starts_on,
           usage_device, usage_metric, usage_every, lead_days, active, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12::int[], $13::date, $14, $15, $16, $17, $18, $19, to_timestamp($20 / 1000.0))
         RETURNING id::text AS id`,
        [key, ...definitionParams(definition), actor, this.now()],
      );
      await auditLog.append(tx, { actor, site: definition.site, action: 'plan.create', targetType: 'maintenance_plan', targetId: row!.id, note: definition.name });
      return row!.id;
    });
    return (await this.get(id))!;
  }

  async update(id: string, changes: Partial<Omit<PlanDefinition, 'site' | 'asset' | 'template'>>, actor: string): Promise<MaintenancePlan> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<PlanRow>(`${SELECT_PLANS} WHERE p.id = $1 FOR UPDATE OF p`, [id]);
      if (!row) throw new ApiError('GH_NOT_FOUND', `no maintenance plan ${id}`);
      const merged: PlanDefinition = { ...definitionOf(row), ...changes };
      await this.check(tx, merged, { deviceKnown: row.key === null });
      const usageChanged = changes.usage !== undefined && JSON.stringify(changes.usage) !== JSON.stringify(usageOf(row));
      const m = merged;
      await tx.execute(
        `UPDATE maintenance_plans SET name = $2, category = $3, priority = $4, team = $5, checklist = $6::jsonb, every_n = $7, every_unit = $8, weekdays = $9::int[],
           starts_on = $10::date, usage_device = $11, usage_metric = $12, usage_every = $13, lead_days = $14, active = $15,
           usage_baseline = CASE WHEN $16::boolean THEN NULL ELSE usage_baseline END
         WHERE id = $1`,
        [
          id, m.name, m.category, m.priority, m.team, JSON.stringify(m.checklist), m.calendar?.every ?? null, m.calendar?.unit ?? null,
          m.calendar?.weekdays?.length ? [...m.calendar.weekdays] : null, m.startsOn, m.usage?.device ?? null, m.usage?.metric ?? null, m.usage?.every ?? null,
          m.leadDays, m.active, usageChanged,
        ],
      );
      const changed = Object.keys(changes).join(', ');
      await auditLog.append(tx, { actor, site: row.site, action: 'plan.update', targetType: 'maintenance_plan', targetId: id, note: changed });
    });
    return (await this.get(id))!;
  }

  /** Skips the next calendar occurrence, recorded with who and why; the one after it is then next. */
  async skipNext(id: string, actor: string, reason: string): Promise<MaintenancePlan> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<PlanRow>(`${SELECT_PLANS} WHERE p.id = $1 FOR UPDATE OF p`, [id]);
      if (!row) throw new ApiError('GH_NOT_FOUND', `no maintenance plan ${id}`);
      const rule = calendarOf(row);
      if (!rule) throw new ApiError('GH_BAD_REQUEST', `plan ${id} runs on usage only: it has no calendar occurrence to skip`);
      const next = nextCalendarDue(rule, row.startsOn, localDate(row.createdAt, row.timeZone), await this.lastOccurrence(tx, id));
      await this.record(tx, id, next, 'calendar', 'skipped', null, reason, actor, null);
      await auditLog.append(tx, { actor, site: row.site, action: 'plan.skip', targetType: 'maintenance_plan', targetId: id, note: `${next}: ${reason}` });
    });
    return (await this.get(id))!;
  }

  /**
   * Plans the configuration declares, by key: created, or brought up to the declaration (their
   * occurrences and usage count kept). Plans it no longer declares are deactivated, not deleted.
   */
  async declare(plans: readonly (PlanDefinition & { key: string })[]): Promise<void> {
    for (const plan of plans) {
      const [known] = await this.db.query<{ id: string }>('SELECT id::text AS id FROM maintenance_plans WHERE key = $1', [plan.key]);
      if (known) await this.update(known.id, { ...plan }, 'config');
      else await this.create(plan, 'config', plan.key);
    }
    await this.db.execute('UPDATE maintenance_plans SET active = false WHERE key IS NOT NULL AND NOT (key = ANY($1::text[]))', [plans.map((p) => p.key)]);
  }

  /** Recorded occurrences and those foreseen from each plan's next due date, in [from, to] (site-local dates). */
  async calendar(sites: readonly string[] | '*', from: string, to: string, site?: string): Promise<CalendarEntry[]> {
    const plans = (await this.list(site === undefined ? sites : [site], {}, { withUsage: false })).filter((p) => site === undefined || p.site === site);
    if (plans.length === 0) return [];
    const recorded = await this.db.query<OccurrenceRow>(
      `${SELECT_OCCURRENCES} WHERE c.plan_id = ANY($1::bigint[]) AND c.due_on BETWEEN $2::date AND $3::date ORDER BY c.due_on, c.id`,
      [plans.map((p) => p.id), from, to],
    );
    const byId = new Map(plans.map((p) => [p.id, p]));
    const entries: CalendarEntry[] = recorded.map((c) => {
      const p = byId.get(c.planId)!;
      return { planId: p.id, planName: p.name, site: p.site, asset: p.asset, category: p.category, dueOn: c.dueOn, status: c.outcome, orderId: c.orderId, orderNumber: c.orderNumber, orderState: c.orderState };
    });
    for (const p of plans) {
      if (!p.active || !p.calendar || p.nextDueOn === null) continue;
      let n = 0;
      for (let d = p.nextDueOn; d <= to && n < MAX_PROJECTED; d = dueAfter(p.calendar, d), n++) {
        if (d >= from) entries.push({ planId: p.id, planName: p.name, site: p.site, asset: p.asset, category: p.category, dueOn: d, status: 'planned', orderId: null, orderNumber: null, orderState: null });
      }
    }
    return entries.sort((a, b) => (a.dueOn < b.dueOn ? -1 : a.dueOn > b.dueOn ? 1 : a.planName.localeCompare(b.planName)));
  }

  private async lastOccurrences(ids: string[]): Promise<Map<string, OccurrenceRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<OccurrenceRow>(
      `${SELECT_OCCURRENCES.replace('SELECT', 'SELECT DISTINCT ON (c.plan_id)')} WHERE c.plan_id = ANY($1::bigint[]) ORDER BY c.plan_id, c.due_on DESC, c.id DESC`,
      [ids],
    );
    return new Map(rows.map((r) => [r.planId, r]));
  }

  private async toPlan(row: PlanRow, last: OccurrenceRow | undefined, withUsage = true): Promise<MaintenancePlan> {
    const rule = calendarOf(row);
    const usage = usageOf(row);
    const nextDueOn = rule ? nextCalendarDue(rule, row.startsOn, localDate(row.createdAt, row.timeZone), last) : null;
    const current = usage && withUsage ? ((await this.readUsage(row.site, usage.device, usage.metric).catch(() => undefined)) ?? null) : null;
    return {
      id: row.id,
      key: row.key,
      ...definitionOf(row),
      createdBy: row.createdBy,
      createdAt: row.createdAt,
      nextDueOn,
      raiseOn: nextDueOn === null ? null : addDays(nextDueOn, -row.leadDays),
      usageProgress: usage ? { every: usage.every, current, since: current !== null && row.usageBaseline !== null ? current - row.usageBaseline : null } : null,
      lastOccurrence: last ? withoutCompletedOn(last) : null,
    };
  }

  private async check(tx: SqlExecutor, plan: PlanDefinition, options: { deviceKnown: boolean }): Promise<void> {
    const [asset] = await tx.query('SELECT 1 FROM assets WHERE site = $1 AND id = $2', [plan.site, plan.asset]);
    if (!asset) throw new ApiError('GH_BAD_REQUEST', `unknown asset "${plan.asset}" on site ${plan.site}`);
    if (!this.orders.teamsOf(plan.site).some((t) => t.id === plan.team)) {
      throw new ApiError('GH_BAD_REQUEST', `unknown team "${plan.team}" on site ${plan.site} (teams: ${this.orders.teamsOf(plan.site).map((t) => t.id).join(', ') || 'none'})`);
    }
    if (!plan.calendar && !plan.usage) throw new ApiError('GH_BAD_REQUEST', 'a plan needs a calendar (every N days, weeks or months), a usage threshold, or both');
    if (plan.calendar?.weekdays?.length && plan.calendar.unit !== 'week') throw new ApiError('GH_BAD_REQUEST', 'weekdays apply to weekly plans only');
    if (plan.usage && options.deviceKnown) {
      const [device] = await tx.query('SELECT 1 FROM devices WHERE site = $1 AND id = $2', [plan.site, plan.usage.device]);
      if (!device) throw new ApiError('GH_BAD_REQUEST', `unknown device "${plan.usage.device}" on site ${plan.site}`);
    }
  }
}

function definitionOf(row: PlanRow): PlanDefinition {
  return {
    site: row.site,
    asset: row.asset,
    name: row.name,
    template: row.template,
    category: row.category,
    priority: row.priority,
    team: row.team,
    checklist: row.checklist,
    calendar: calendarOf(row),
    startsOn: row.startsOn,
    leadDays: row.leadDays,
    usage: usageOf(row),
    active: row.active,
  };
}

function definitionParams(p: PlanDefinition): unknown[] {
  return [
    p.site, p.asset, p.name, p.template, p.category, p.priority, p.team, JSON.stringify(p.checklist), p.calendar?.every ?? null, p.calendar?.unit ?? null,
    p.calendar?.weekdays?.length ? [...p.calendar.weekdays] : null, p.startsOn, p.usage?.device ?? null, p.usage?.metric ?? null, p.usage?.every ?? null,
    p.leadDays, p.active,
  ];
}

function withoutCompletedOn({ completedOn: _, ...occurrence }: OccurrenceRow): PlanOccurrence {
  return occurrence;
}
