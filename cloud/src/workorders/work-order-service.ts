import type { Logger } from 'pino';
import { ApiError } from '../api/errors.js';
import { auditLog } from '../audit/audit-log.js';
import type { WorkCalendar } from '../detection/work-calendar.js';
import type { SqlClient, SqlExecutor } from '../storage/sql-client.js';
import { describeBytes, sniffPhoto } from './photo-check.js';
import { minuteOfDay, serviceDeadline } from './sla.js';
import { workOrdersConfigSchema, type TeamConfig, type WorkOrdersConfig, type WorkOrdersConfigInput } from './work-order-config.js';
import { nextState, refusalOf, REOPENING_RATING, WORK_ORDER_STATES, type WorkOrderAction, type WorkOrderCategory, type WorkOrderState } from './work-order-rules.js';
import { appendOrderEvent, loadOrder, orderEvents, selectOrders, type ChecklistItem, type PartUsed, type WorkOrder, type WorkOrderEvent } from './work-order-store.js';

export interface WorkOrderServiceOptions {
  db: SqlClient;
  config: WorkOrdersConfigInput;
  /** the working calendar SLA clocks count working days by (the detectors') */
  calendar: WorkCalendar;
  logger: Logger;
  now?: () => number;
}

/** What a person fills in to raise an order by hand (报事报修). */
export interface NewWorkOrder {
  site: string;
  title: string;
  category: WorkOrderCategory;
  priority: number;
  description?: string;
  asset?: string;
  building?: string;
  floor?: string;
  unit?: string;
  device?: string;
  team?: string;
  assignee?: string;
  requesterName?: string;
  requesterContact?: string;
  checklist?: string[];
  /** a resolution due time earlier than the SLA's (never in the past) */
  resolutionDueAt?: number;
}

/** What an automatic order is raised with (the raiser's findings and faults, plans). */
export interface RaisedWorkOrder {
  site: string;
  origin: 'finding' | 'fault' | 'plan';
  /** the asset or device and the problem: one active order per key */
  sourceKey: string;
  title: string;
  category: WorkOrderCategory;
  priority: number;
  team: string;
  description: string;
  evidence: Record<string, unknown> | null;
  device?: string | null;
  asset?: string | null;
  checklist?: string[];
  /** planned work: its response clock starts then (the due date's start), and it is due by resolutionDueAt */
  plannedFor?: { startsAt: number; resolutionDueAt: number };
}

export interface WorkOrderFilter {
  sites: readonly string[] | '*';
  states?: WorkOrderState[];
  teams?: string[];
  categories?: WorkOrderCategory[];
  priorities?: number[];
  assignee?: string;
  asset?: string;
  limit: number;
  cursor?: string;
}

/** A photo on an order, without its bytes. */
export interface WorkOrderPhoto {
  id: string;
  stage: 'before' | 'after' | 'other';
  fileName: string;
  contentType: string;
  size: number;
  createdBy: string;
  createdAt: number;
  url: string;
}

/** A photo's bytes are capped at this; the console scales photos down to well under it before sending. */
export const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
/** Photos on one order at most. */
export const MAX_PHOTOS_PER_ORDER = 20;

/** Figures of one group of orders: how many, how fast, how often in time. */
export interface ClockFigures {
  orders: number;
  mttaMinutes: number | null;
  mttrMinutes: number | null;
  /** share of orders started in time (0–1) among those started or already late */
  responseCompliance: number | null;
  /** share of orders completed in time among those completed or already late */
  resolutionCompliance: number | null;
}

export interface WorkOrderFigures extends ClockFigures {
  from: number;
  to: number;
  activeNow: number;
  overdueNow: number;
  byMonth: { month: string; category: string; orders: number }[];
  bySite: (ClockFigures & { site: string })[];
  byTeam: (ClockFigures & { team: string | null })[];
}

export interface WorkOrderChanges {
  title?: string;
  description?: string;
  priority?: number;
  /** items ticked or unticked, by index */
  checklistDone?: { index: number; done: boolean }[];
  /** items added to the checklist */
  checklistAdd?: string[];
  parts?: PartUsed[];
  labourMinutes?: number;
  costCny?: number | null;
}

/**
 * Work orders: raised by hand or by the raiser, moved through their lifecycle by people, each change in
 * one transaction with its history line and audit line. Two cloud instances on one database are safe:
 * every change locks the order's row, and an automatic order's key is unique among active orders.
 */
export class WorkOrderService {
  readonly config: WorkOrdersConfig;
  private readonly db: SqlClient;

  /** The database the orders are kept in (for the routes' look-ups of sites). */
  get database(): SqlClient {
    return this.db;
  }
  private readonly now: () => number;

  constructor(private readonly options: WorkOrderServiceOptions) {
    this.config = workOrdersConfigSchema.parse(options.config);
    this.db = options.db;
    this.now = options.now ?? Date.now;
  }

  team(id: string): TeamConfig | undefined {
    return this.config.teams.find((t) => t.id === id);
  }

  /** The teams that work on a site. */
  teamsOf(site: string): TeamConfig[] {
    return this.config.teams.filter((t) => t.sites === undefined || t.sites.includes(site));
  }

  /** Response and resolution due times of an order of `priority` and `category` raised at `at` on `site`. */
  async dueTimes(tx: SqlExecutor, site: string, priority: number, category: WorkOrderCategory, at: number): Promise<{ responseDueAt: number; resolutionDueAt: number; mode: '24x7' | 'working_hours' }> {
    const [row] = await tx.query<{ time_zone: string }>('SELECT time_zone FROM sites WHERE id = $1', [site]);
    if (!row) throw new ApiError('GH_BAD_REQUEST', `unknown site "${site}"`);
    const sla = this.config.sla[String(priority) as '1' | '2' | '3' | '4'];
    const mode = this.config.roundTheClock.includes(category) ? '24x7' : 'working_hours';
    const hours = { startMinute: minuteOfDay(this.config.workingHours.start), endMinute: minuteOfDay(this.config.workingHours.end) };
    return {
      responseDueAt: serviceDeadline(at, sla.responseMinutes, mode, row.time_zone, this.options.calendar, hours),
      resolutionDueAt: serviceDeadline(at, sla.resolutionMinutes, mode, row.time_zone, this.options.calendar, hours),
      mode,
    };
  }

  async create(input: NewWorkOrder, actor: string): Promise<WorkOrder> {
    const now = this.now();
    const id = await this.db.transaction(async (tx) => {
      await this.checkPlace(tx, input.site, input.asset, input.building, input.device);
      if (input.team !== undefined) this.checkTeam(input.team, input.site);
      if (input.assignee !== undefined) await this.checkAssignee(tx, input.assignee, input.site, input.team);
      const due = await this.dueTimes(tx, input.site, input.priority, input.category, now);
      if (input.resolutionDueAt !== undefined) {
        if (input.resolutionDueAt <= now) throw new ApiError('GH_BAD_REQUEST', `resolutionDueAt ${new Date(input.resolutionDueAt).toISOString()} is in the past`);
        due.resolutionDueAt = Math.min(due.resolutionDueAt, input.resolutionDueAt);
      }
      const state: WorkOrderState = input.assignee !== undefined ? 'assigned' : 'open';
      const [row] = await tx.query<{ id: string }>(
        `INSERT INTO work_orders (site, title, category, priority, state, origin, asset, building, floor, unit, device, description, team, assignee,
           requester_name, requester_contact, created_by, created_at, updated_at, last_occurrence_at, response_due_at, resolution_due_at, sla_mode, checklist)
         VALUES ($1, $2, $3, $4, $5, 'manual', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, to_timestamp($17 / 1000.0), to_timestamp($17 / 1000.0),
           to_timestamp($17 / 1000.0), to_timestamp($18 / 1000.0), to_timestamp($19 / 1000.0), $20, $21::jsonb)
         RETURNING id::text AS id`,
        [
          input.site, input.title, input.category, input.priority, state, input.asset ?? null, input.building ?? null, input.floor ?? null, input.unit ?? null,
          input.device ?? null, input.description ?? '', input.team ?? null, input.assignee ?? null, input.requesterName ?? null, input.requesterContact ?? null,
          actor, now, due.responseDueAt, due.resolutionDueAt, due.mode, JSON.stringify(checklistOf(input.checklist ?? [])),
        ],
      );
      const orderId = row!.id;
      await appendOrderEvent(tx, orderId, { actor, kind: 'created', toState: 'open', note: input.requesterName ? `reported by ${input.requesterName}` : null });
      if (state === 'assigned') await appendOrderEvent(tx, orderId, { actor, kind: 'assign', fromState: 'open', toState: 'assigned', note: `assigned to ${input.assignee}` });
      await auditLog.append(tx, { actor, site: input.site, action: 'work_order.create', targetType: 'work_order', targetId: orderId, toState: state, note: input.title });
      return orderId;
    });
    return (await loadOrder(this.db, id, this.now()))!;
  }

  /**
   * An automatic order for `ref` (a finding or an alarm episode), in the caller's transaction: counted
   * on the active order of its key if there is one, else a new order. Returns the order's id and whether
   * it is new; undefined when `ref` was counted already (by this or another instance).
   */
  async raise(tx: SqlExecutor, order: RaisedWorkOrder, ref: string, at: number): Promise<{ id: string; created: boolean } | undefined> {
    const [seen] = await tx.query<{ n: number }>('SELECT 1 AS n FROM work_order_sources WHERE ref = $1', [ref]);
    if (seen) return undefined;
    let [active] = await tx.query<{ id: string }>(
      `SELECT id::text AS id FROM work_orders WHERE site = $1 AND source_key = $2 AND state IN ('open', 'assigned', 'in_progress', 'on_hold') FOR UPDATE`,
      [order.site, order.sourceKey],
    );
    let created = false;
    if (!active) {
      const due = await this.dueTimes(tx, order.site, order.priority, order.category, Math.max(at, order.plannedFor?.startsAt ?? at));
      if (order.plannedFor) due.resolutionDueAt = Math.max(order.plannedFor.resolutionDueAt, due.responseDueAt);
      [active] = await tx.query<{ id: string }>(
        `INSERT INTO work_orders (site, title, category, priority, origin, source_key, asset, device, description, evidence, team, created_by,
           created_at, updated_at, last_occurrence_at, response_due_at, resolution_due_at, sla_mode, checklist)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, 'system', to_timestamp($12 / 1000.0), to_timestamp($12 / 1000.0), to_timestamp($12 / 1000.0),
           to_timestamp($13 / 1000.0), to_timestamp($14 / 1000.0), $15, $16::jsonb)
         ON CONFLICT DO NOTHING
         RETURNING id::text AS id`,
        [
          order.site, order.title, order.category, order.priority, order.origin, order.sourceKey, order.asset ?? null, order.device ?? null, order.description,
          order.evidence === null ? null : JSON.stringify(order.evidence), order.team, at, due.responseDueAt, due.resolutionDueAt, due.mode,
          JSON.stringify(checklistOf(order.checklist ?? [])),
        ],
      );
      // Another instance raised it between the two statements: its order is the one.
      if (!active) return undefined;
      created = true;
      await appendOrderEvent(tx, active.id, { actor: 'system', kind: 'created', toState: 'open', note: order.description });
      await auditLog.append(tx, { actor: 'system', site: order.site, action: 'work_order.raise', targetType: 'work_order', targetId: active.id, toState: 'open', note: order.title });
    } else {
      await tx.execute(
        `UPDATE work_orders SET occurrences = occurrences + 1, last_occurrence_at = to_timestamp($2 / 1000.0), condition_cleared_at = NULL,
           evidence = coalesce($3::jsonb, evidence), updated_at = clock_timestamp() WHERE id = $1`,
        [active.id, at, order.evidence === null ? null : JSON.stringify(order.evidence)],
      );
      await appendOrderEvent(tx, active.id, { actor: 'system', kind: 'occurrence', note: order.description });
    }
    const inserted = await tx.query<{ ref: string }>('INSERT INTO work_order_sources (ref, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING ref', [ref, active.id]);
    if (inserted.length === 0) throw new Error(`work order source ${ref} was counted concurrently`);
    return { id: active.id, created };
  }

  /** Takes an action on an order, refused with GH_BAD_TRANSITION where its state does not allow it. */
  async act(id: string, action: WorkOrderAction, actor: string, input: { note?: string; assignee?: string; team?: string; reason?: string }): Promise<WorkOrder> {
    await this.db.transaction(async (tx) => {
      const order = await this.lock(tx, id);
      const to = nextState(action, order.state);
      if (to === undefined) throw new ApiError('GH_BAD_TRANSITION', `order ${order.number}: ${refusalOf(action, order.state)}`);
      const sets: string[] = ['state = $2', 'updated_at = clock_timestamp()'];
      const params: unknown[] = [id, to];
      const set = (column: string, value: unknown) => {
        params.push(value);
        sets.push(`${column} = $${params.length}`);
      };
      // The service's clock, as when raising: response and resolution times are measured on one clock.
      const stamp = (column: string) => {
        params.push(this.now());
        sets.push(`${column} = to_timestamp($${params.length}::float8 / 1000.0)`);
      };
      let note = input.note ?? null;
      switch (action) {
        case 'assign': {
          if (input.assignee === undefined) throw new ApiError('GH_BAD_REQUEST', 'assign needs an assignee (a username)');
          const team = input.team ?? order.team ?? undefined;
          if (input.team !== undefined) this.checkTeam(input.team, order.site);
          await this.checkAssignee(tx, input.assignee, order.site, team);
          set('assignee', input.assignee);
          if (input.team !== undefined) set('team', input.team);
          note = [`assigned to ${input.assignee}${input.team ? ` (${input.team})` : ''}`, input.note].filter(Boolean).join(': ');
          break;
        }
        case 'start':
          if (order.respondedAt === null) stamp('responded_at');
          break;
        case 'hold':
          if (!input.reason) throw new ApiError('GH_BAD_REQUEST', 'putting an order on hold needs a reason (waiting for parts, for the resident, …)');
          set('hold_reason', input.reason);
          note = [input.reason, input.note].filter(Boolean).join(': ');
          break;
        case 'resume':
          sets.push('hold_reason = NULL');
          break;
        case 'complete':
          stamp('completed_at');
          break;
        case 'close':
          stamp('closed_at');
          break;
        case 'cancel':
          if (!input.note) throw new ApiError('GH_BAD_REQUEST', 'cancelling an order needs a note saying why');
          stamp('cancelled_at');
          break;
        case 'reopen':
          if (!input.note) throw new ApiError('GH_BAD_REQUEST', 'reopening an order needs a note saying what is still wrong');
          // The last rating stays on record until the next completion is rated.
          sets.push('completed_at = NULL', 'closed_at = NULL');
          if (order.assignee === null) params[1] = 'open';
          break;
      }
      await tx.execute(`UPDATE work_orders SET ${sets.join(', ')} WHERE id = $1`, params);
      await appendOrderEvent(tx, id, { actor, kind: action, fromState: order.state, toState: params[1] as string, note });
      await auditLog.append(tx, { actor, site: order.site, action: `work_order.${action}`, targetType: 'work_order', targetId: id, fromState: order.state, toState: params[1] as string, note });
    });
    return (await loadOrder(this.db, id, this.now()))!;
  }

  /** The requester's satisfaction (满意度) on a completed order; 2 or less reopens it. */
  async rate(id: string, actor: string, rating: number, comment: string | undefined): Promise<WorkOrder> {
    await this.db.transaction(async (tx) => {
      const order = await this.lock(tx, id);
      if (order.state !== 'completed') throw new ApiError('GH_BAD_TRANSITION', `order ${order.number} is ${order.state.replace('_', ' ')}: only a completed order is rated`);
      const note = `rated ${rating}/5${comment ? `: ${comment}` : ''}`;
      await tx.execute('UPDATE work_orders SET rating = $2, rating_comment = $3, updated_at = clock_timestamp() WHERE id = $1', [id, rating, comment ?? null]);
      await appendOrderEvent(tx, id, { actor, kind: 'rating', note });
      await auditLog.append(tx, { actor, site: order.site, action: 'work_order.rate', targetType: 'work_order', targetId: id, note });
      if (rating <= REOPENING_RATING) {
        const to: WorkOrderState = order.assignee === null ? 'open' : 'assigned';
        await tx.execute(`UPDATE work_orders SET state = $2, completed_at = NULL, updated_at = clock_timestamp() WHERE id = $1`, [id, to]);
        await appendOrderEvent(tx, id, { actor, kind: 'reopen', fromState: 'completed', toState: to, note: `reopened: the requester rated it ${rating}/5` });
        await auditLog.append(tx, { actor, site: order.site, action: 'work_order.reopen', targetType: 'work_order', targetId: id, fromState: 'completed', toState: to, note });
      }
    });
    return (await loadOrder(this.db, id, this.now()))!;
  }

  async comment(id: string, actor: string, text: string): Promise<WorkOrder> {
    await this.db.transaction(async (tx) => {
      await this.lock(tx, id);
      await tx.execute('UPDATE work_orders SET updated_at = clock_timestamp() WHERE id = $1', [id]);
      await appendOrderEvent(tx, id, { actor, kind: 'comment', note: text });
    });
    return (await loadOrder(this.db, id, this.now()))!;
  }

  /** Checklist, parts, labour and cost, title, description, priority: not allowed once closed or cancelled. */
  async update(id: string, actor: string, changes: WorkOrderChanges): Promise<WorkOrder> {
    await this.db.transaction(async (tx) => {
      const order = await this.lock(tx, id);
      if (order.state === 'closed' || order.state === 'cancelled') throw new ApiError('GH_BAD_TRANSITION', `order ${order.number} is ${order.state}: reopen it to change it`);
      const checklist: ChecklistItem[] = order.checklist.map((item) => ({ ...item }));
      const notes: string[] = [];
      for (const { index, done } of changes.checklistDone ?? []) {
        const item = checklist[index];
        if (!item) throw new ApiError('GH_BAD_REQUEST', `the checklist has no item ${index} (it has ${checklist.length})`);
        item.done = done;
        item.doneBy = done ? actor : null;
        item.doneAt = done ? this.now() : null;
        notes.push(`${done ? 'done' : 'not done'}: ${item.text}`);
      }
      for (const text of changes.checklistAdd ?? []) {
        checklist.push({ text, done: false, doneBy: null, doneAt: null });
        notes.push(`checklist item added: ${text}`);
      }
      await tx.execute(
        `UPDATE work_orders SET checklist = $2::jsonb, title = coalesce($3, title), description = coalesce($4, description), priority = coalesce($5, priority),
           parts = coalesce($6::jsonb, parts), labour_minutes = coalesce($7, labour_minutes),
           cost_cny = CASE WHEN $8::boolean THEN $9::numeric ELSE cost_cny END, updated_at = clock_timestamp() WHERE id = $1`,
        [
          id, JSON.stringify(checklist), changes.title ?? null, changes.description ?? null, changes.priority ?? null,
          changes.parts === undefined ? null : JSON.stringify(changes.parts), changes.labourMinutes ?? null, changes.costCny !== undefined, changes.costCny ?? null,
        ],
      );
      if (changes.priority !== undefined && changes.priority !== order.priority) notes.push(`priority ${order.priority} → ${changes.priority}`);
      if (changes.parts !== undefined) notes.push(`parts: ${changes.parts.map((p) => `${p.quantity} × ${p.name}`).join(', ') || 'none'}`);
      if (changes.labourMinutes !== undefined) notes.push(`labour ${changes.labourMinutes} min`);
      if (changes.costCny !== undefined) notes.push(`cost ${changes.costCny ?? 'cleared'} CNY`);
      if (changes.title !== undefined || changes.description !== undefined) notes.push('details edited');
      await appendOrderEvent(tx, id, { actor, kind: 'update', note: notes.join('; ') || 'no change' });
    });
    return (await loadOrder(this.db, id, this.now()))!;
  }

  async get(id: string): Promise<(WorkOrder & { history: WorkOrderEvent[]; photos: WorkOrderPhoto[] }) | undefined> {
    const order = await loadOrder(this.db, id, this.now());
    if (!order) return undefined;
    return { ...order, history: await orderEvents(this.db, id), photos: await this.photos(id) };
  }

  async photos(id: string): Promise<WorkOrderPhoto[]> {
    const rows = await this.db.query<Omit<WorkOrderPhoto, 'url'>>(
      `SELECT p.id::text AS id, p.stage, p.file_name AS "fileName", p.content_type AS "contentType", p.size, p.created_by AS "createdBy",
              round(extract(epoch from p.created_at) * 1000)::float8 AS "createdAt"
         FROM work_order_attachments p WHERE p.order_id = $1 ORDER BY p.id`,
      [id],
    );
    return rows.map((r) => ({ ...r, url: `/api/v1/work-orders/${id}/photos/${r.id}` }));
  }

  /**
   * Adds a photo (before, after, or other), its type read from its bytes: a JPEG, PNG or WebP of at most
   * MAX_PHOTO_BYTES, at most MAX_PHOTOS_PER_ORDER per order, not once the order is closed or cancelled.
   */
  async addPhoto(id: string, actor: string, photo: { stage: WorkOrderPhoto['stage']; fileName: string; data: Buffer }): Promise<WorkOrderPhoto> {
    const type = sniffPhoto(photo.data);
    if (photo.data.length === 0) throw new ApiError('GH_BAD_REQUEST', 'the photo is empty');
    if (photo.data.length > MAX_PHOTO_BYTES) throw new ApiError('GH_BAD_REQUEST', `the photo is ${(photo.data.length / 1048576).toFixed(1)} MiB: at most ${MAX_PHOTO_BYTES / 1048576} MiB`);
    if (!type) throw new ApiError('GH_BAD_REQUEST', `not a JPEG, PNG or WebP image (it starts like ${describeBytes(photo.data)})`);
    const photoId = await this.db.transaction(async (tx) => {
      const order = await this.lock(tx, id);
      if (order.state === 'closed' || order.state === 'cancelled') throw new ApiError('GH_BAD_TRANSITION', `order ${order.number} is ${order.state}: reopen it to add photos`);
      const [count] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM work_order_attachments WHERE order_id = $1', [id]);
      if ((count?.n ?? 0) >= MAX_PHOTOS_PER_ORDER) throw new ApiError('GH_CONFLICT', `order ${order.number} has ${MAX_PHOTOS_PER_ORDER} photos already`);
      const [row] = await tx.query<{ id: string }>(
        'INSERT INTO work_order_attachments (order_id, stage, file_name, content_type, size, data, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::text AS id',
        [id, photo.stage, photo.fileName, type, photo.data.length, photo.data, actor],
      );
      await tx.execute('UPDATE work_orders SET updated_at = clock_timestamp() WHERE id = $1', [id]);
      await appendOrderEvent(tx, id, { actor, kind: 'photo', note: `${photo.stage}: ${photo.fileName}` });
      return row!.id;
    });
    return (await this.photos(id)).find((p) => p.id === photoId)!;
  }

  async photo(id: string, photoId: string): Promise<{ contentType: string; fileName: string; data: Buffer } | undefined> {
    const [row] = await this.db.query<{ contentType: string; fileName: string; data: Buffer }>(
      'SELECT content_type AS "contentType", file_name AS "fileName", data FROM work_order_attachments WHERE order_id = $1 AND id = $2',
      [id, photoId],
    );
    return row;
  }

  async siteOf(id: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ site: string }>('SELECT site FROM work_orders WHERE id = $1', [id]);
    return row?.site;
  }

  /**
   * Orders matching the filter, most urgent first (priority, then oldest), a page at a time; and how
   * many match in each state (the board's columns), the state filter aside.
   */
  async list(filter: WorkOrderFilter): Promise<{ orders: WorkOrder[]; counts: Record<WorkOrderState, number>; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (filter.sites !== '*') add((p) => `o.site = ANY(${p}::text[])`, filter.sites);
    if (filter.teams?.length) add((p) => `o.team = ANY(${p}::text[])`, filter.teams);
    if (filter.categories?.length) add((p) => `o.category = ANY(${p}::text[])`, filter.categories);
    if (filter.priorities?.length) add((p) => `o.priority = ANY(${p}::int[])`, filter.priorities);
    if (filter.assignee !== undefined) add((p) => `o.assignee = ${p}`, filter.assignee);
    if (filter.asset !== undefined) add((p) => `o.asset = ${p}`, filter.asset);
    const common = where.length > 0 ? where.join(' AND ') : 'true';
    const countRows = await this.db.query<{ state: WorkOrderState; n: number }>(`SELECT o.state, count(*)::int AS n FROM work_orders o WHERE ${common} GROUP BY o.state`, params);
    const counts = Object.fromEntries(WORK_ORDER_STATES.map((s) => [s, 0])) as Record<WorkOrderState, number>;
    for (const row of countRows) counts[row.state] = row.n;

    if (filter.states?.length) add((p) => `o.state = ANY(${p}::text[])`, filter.states);
    if (filter.cursor !== undefined) {
      const cursor = parseCursor(filter.cursor);
      params.push(cursor.priority, cursor.createdAt, cursor.id);
      const n = params.length;
      where.push(`(o.priority, o.created_at, o.id) > ($${n - 2}::int, to_timestamp($${n - 1}::float8 / 1000.0), $${n}::bigint)`);
    }
    params.push(filter.limit + 1);
    const orders = await selectOrders(this.db, where.join(' AND ') || 'true', params, this.now(), `ORDER BY o.priority, o.created_at, o.id LIMIT $${params.length}`);
    const more = orders.length > filter.limit;
    if (more) orders.pop();
    const last = orders[orders.length - 1];
    return { orders, counts, nextCursor: more && last ? `${last.priority}.${last.createdAt}.${last.id}` : null };
  }

  /**
   * The facilities figures over orders raised in [from, to): mean time to respond (raised → started) and
   * to resolve (raised → completed), the share of clocks stopped in time, orders per month (site time)
   * and category, per site and per team; and what is active and overdue now.
   */
  async figures(sites: readonly string[] | '*', from: number, to: number): Promise<WorkOrderFigures> {
    const now = this.now();
    // $1 from, $2 to, $3 now, $4 the sites (when not all): every query uses them all, typed.
    const params: unknown[] = [from, to, now, sites === '*' ? null : sites];
    const siteClause = `AND ($4::text[] IS NULL OR o.site = ANY($4::text[]))`;
    const where = `o.created_at >= to_timestamp($1::float8 / 1000.0) AND o.created_at < to_timestamp($2::float8 / 1000.0) ${siteClause} AND $3::float8 IS NOT NULL`;
    const late = (due: string) => `${due} < to_timestamp($3::float8 / 1000.0)`;
    // One pass over the orders per grouping; the clocks in minutes.
    const clocks = `
      count(*)::int AS orders,
      avg(extract(epoch from o.responded_at - o.created_at) / 60) FILTER (WHERE o.responded_at IS NOT NULL)::float8 AS "mttaMinutes",
      avg(extract(epoch from o.completed_at - o.created_at) / 60) FILTER (WHERE o.completed_at IS NOT NULL)::float8 AS "mttrMinutes",
      count(*) FILTER (WHERE o.responded_at IS NOT NULL AND o.responded_at <= o.response_due_at)::int AS "responseMet",
      count(*) FILTER (WHERE (o.responded_at IS NOT NULL AND o.responded_at > o.response_due_at) OR (o.responded_at IS NULL AND o.cancelled_at IS NULL AND ${late('o.response_due_at')}))::int AS "responseMissed",
      count(*) FILTER (WHERE o.completed_at IS NOT NULL AND o.completed_at <= o.resolution_due_at)::int AS "resolutionMet",
      count(*) FILTER (WHERE (o.completed_at IS NOT NULL AND o.completed_at > o.resolution_due_at) OR (o.completed_at IS NULL AND o.state NOT IN ('closed', 'cancelled') AND ${late('o.resolution_due_at')}))::int AS "resolutionMissed"`;
    type Clocks = { orders: number; mttaMinutes: number | null; mttrMinutes: number | null; responseMet: number; responseMissed: number; resolutionMet: number; resolutionMissed: number };
    // The totals, per site and per team in one pass over the period's orders (grouping sets); the
    // months and what is active now beside it (a pool runs them at once).
    const [grouped, byMonth, [current]] = await Promise.all([
      this.db.query<Clocks & { site: string | null; team: string | null; grouping: number }>(
        `SELECT GROUPING(o.site, o.team)::int AS grouping, o.site, o.team, ${clocks}
           FROM work_orders o WHERE ${where} GROUP BY GROUPING SETS ((), (o.site), (o.team))`,
        params,
      ),
      this.db.query<{ month: string; category: string; orders: number }>(
        `SELECT to_char(date_trunc('month', o.created_at AT TIME ZONE s.time_zone), 'YYYY-MM') AS month, o.category, count(*)::int AS orders
           FROM work_orders o JOIN sites s ON s.id = o.site WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`,
        params,
      ),
      this.db.query<{ active: number; overdue: number }>(
        `SELECT count(*)::int AS active, count(*) FILTER (WHERE ${late('o.resolution_due_at')})::int AS overdue
           FROM work_orders o WHERE o.state IN ('open', 'assigned', 'in_progress', 'on_hold') ${siteClause} AND $1::float8 IS NOT NULL AND $2::float8 IS NOT NULL`,
        params,
      ),
    ]);
    // GROUPING(site, team): 3 the totals, 1 per site (team rolled up), 2 per team.
    const none: Clocks = { orders: 0, mttaMinutes: null, mttrMinutes: null, responseMet: 0, responseMissed: 0, resolutionMet: 0, resolutionMissed: 0 };
    const all = grouped.find((r) => r.grouping === 3) ?? none;
    const bySite = grouped.filter((r) => r.grouping === 1).sort((x, y) => (x.site! < y.site! ? -1 : 1));
    const byTeam = grouped.filter((r) => r.grouping === 2).sort((x, y) => (x.team === y.team ? 0 : x.team === null ? 1 : y.team === null ? -1 : x.team < y.team ? -1 : 1));
    const shape = (c: Clocks) => ({
      orders: c.orders,
      mttaMinutes: c.mttaMinutes === null ? null : Math.round(c.mttaMinutes * 10) / 10,
      mttrMinutes: c.mttrMinutes === null ? null : Math.round(c.mttrMinutes * 10) / 10,
      responseCompliance: share(c.responseMet, c.responseMissed),
      resolutionCompliance: share(c.resolutionMet, c.resolutionMissed),
    });
    return {
      from,
      to,
      ...shape(all),
      activeNow: current!.active,
      overdueNow: current!.overdue,
      byMonth,
      bySite: bySite.map((r) => ({ site: r.site!, ...shape(r) })),
      byTeam: byTeam.map((r) => ({ team: r.team, ...shape(r) })),
    };
  }

  private async lock(tx: SqlExecutor, id: string): Promise<WorkOrder> {
    await tx.query('SELECT 1 FROM work_orders WHERE id = $1 FOR UPDATE', [id]);
    const order = await loadOrder(tx, id, this.now());
    if (!order) throw new ApiError('GH_NOT_FOUND', `no work order ${id}`);
    return order;
  }

  private checkTeam(team: string, site: string): void {
    const known = this.team(team);
    if (!known) throw new ApiError('GH_BAD_REQUEST', `unknown team "${team}" (teams: ${this.config.teams.map((t) => t.id).join(', ') || 'none configured'})`);
    if (known.sites !== undefined && !known.sites.includes(site)) throw new ApiError('GH_BAD_REQUEST', `team "${team}" does not work on site ${site}`);
  }

  /** The assignee must be an enabled user who may see the site (and a member of the team, when it lists members). */
  private async checkAssignee(tx: SqlExecutor, username: string, site: string, team: string | undefined): Promise<void> {
    const [user] = await tx.query<{ sites: string[]; disabled: boolean }>('SELECT sites, disabled FROM users WHERE username = $1', [username]);
    if (!user || user.disabled) throw new ApiError('GH_BAD_REQUEST', `unknown user "${username}"`);
    if (!user.sites.includes('*') && !user.sites.includes(site)) throw new ApiError('GH_BAD_REQUEST', `user "${username}" is not granted site ${site}`);
    const members = team === undefined ? undefined : this.team(team)?.members;
    if (members && members.length > 0 && !members.includes(username)) throw new ApiError('GH_BAD_REQUEST', `user "${username}" is not a member of team "${team}"`);
  }

  /** The site exists, and the asset, building and device named are on it. */
  private async checkPlace(tx: SqlExecutor, site: string, asset?: string, building?: string, device?: string): Promise<void> {
    const [known] = await tx.query<{ id: string }>('SELECT id FROM sites WHERE id = $1', [site]);
    if (!known) throw new ApiError('GH_BAD_REQUEST', `unknown site "${site}"`);
    if (asset !== undefined && (await tx.query('SELECT 1 FROM assets WHERE site = $1 AND id = $2', [site, asset])).length === 0) {
      throw new ApiError('GH_BAD_REQUEST', `unknown asset "${asset}" on site ${site}`);
    }
    if (building !== undefined && (await tx.query('SELECT 1 FROM buildings WHERE site = $1 AND id = $2', [site, building])).length === 0) {
      throw new ApiError('GH_BAD_REQUEST', `unknown building "${building}" on site ${site}`);
    }
    if (device !== undefined && (await tx.query('SELECT 1 FROM devices WHERE site = $1 AND id = $2', [site, device])).length === 0) {
      throw new ApiError('GH_BAD_REQUEST', `unknown device "${device}" on site ${site}`);
    }
  }
}

/** Clocks stopped in time among those stopped or already late; null when there is none yet. */
function share(met: number, missed: number): number | null {
  return met + missed === 0 ? null : Math.round((met / (met + missed)) * 1000) / 1000;
}

function checklistOf(items: readonly string[]): ChecklistItem[] {
  return items.map((text) => ({ text, done: false, doneBy: null, doneAt: null }));
}

function parseCursor(cursor: string): { priority: number; createdAt: number; id: string } {
  const match = /^([1-4])\.(\d{1,15})\.(\d{1,18})$/.exec(cursor);
  if (!match) throw new ApiError('GH_BAD_REQUEST', 'cursor: expected the nextCursor of the previous page');
  return { priority: Number(match[1]), createdAt: Number(match[2]), id: match[3]! };
}
