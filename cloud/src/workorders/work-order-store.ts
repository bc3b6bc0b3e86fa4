import { ms } from '../alarms/alarm-store.js';
import type { SqlExecutor } from '../storage/sql-client.js';
import type { WorkOrderCategory, WorkOrderOrigin, WorkOrderState } from './work-order-rules.js';

/** One item of an order's checklist. */
export interface ChecklistItem {
  text: string;
  done: boolean;
  doneBy: string | null;
  doneAt: number | null;
}

/** A spare part used. */
export interface PartUsed {
  name: string;
  quantity: number;
  /** cost of all of them, CNY */
  costCny: number | null;
}

/** Where an order stands against its response or resolution time. */
export type SlaStatus = 'on_track' | 'due_soon' | 'breached' | 'met';

/** A work order as the API serves it; times are epoch ms. */
export interface WorkOrder {
  id: string;
  /** WO- and the id, six digits at least: what people quote on the phone */
  number: string;
  site: string;
  title: string;
  category: WorkOrderCategory;
  /** 1 urgent, 2 high, 3 normal, 4 low */
  priority: number;
  state: WorkOrderState;
  origin: WorkOrderOrigin;
  sourceKey: string | null;
  asset: string | null;
  building: string | null;
  floor: string | null;
  unit: string | null;
  device: string | null;
  description: string;
  evidence: Record<string, unknown> | null;
  team: string | null;
  assignee: string | null;
  requesterName: string | null;
  requesterContact: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  responseDueAt: number;
  resolutionDueAt: number;
  slaMode: '24x7' | 'working_hours';
  respondedAt: number | null;
  completedAt: number | null;
  closedAt: number | null;
  cancelledAt: number | null;
  holdReason: string | null;
  occurrences: number;
  lastOccurrenceAt: number;
  conditionClearedAt: number | null;
  checklist: ChecklistItem[];
  parts: PartUsed[];
  labourMinutes: number;
  costCny: number | null;
  rating: number | null;
  ratingComment: string | null;
  responseSla: SlaStatus;
  resolutionSla: SlaStatus;
}

/** One line of an order's history. */
export interface WorkOrderEvent {
  id: string;
  at: number;
  actor: string;
  kind: string;
  fromState: string | null;
  toState: string | null;
  note: string | null;
}

const SELECT = `SELECT o.id::text AS id, 'WO-' || lpad(o.id::text, 6, '0') AS number, o.site, o.title, o.category, o.priority, o.state, o.origin,
    o.source_key AS "sourceKey", o.asset, o.building, o.floor, o.unit, o.device, o.description, o.evidence, o.team, o.assignee,
    o.requester_name AS "requesterName", o.requester_contact AS "requesterContact", o.created_by AS "createdBy",
    ${ms('o.created_at')} AS "createdAt", ${ms('o.updated_at')} AS "updatedAt", ${ms('o.response_due_at')} AS "responseDueAt",
    ${ms('o.resolution_due_at')} AS "resolutionDueAt", o.sla_mode AS "slaMode", ${ms('o.responded_at')} AS "respondedAt",
    ${ms('o.completed_at')} AS "completedAt", ${ms('o.closed_at')} AS "closedAt", ${ms('o.cancelled_at')} AS "cancelledAt",
    o.hold_reason AS "holdReason", o.occurrences, ${ms('o.last_occurrence_at')} AS "lastOccurrenceAt",
    ${ms('o.condition_cleared_at')} AS "conditionClearedAt", o.checklist, o.parts, o.labour_minutes AS "labourMinutes",
    o.cost_cny::float8 AS "costCny", o.rating, o.rating_comment AS "ratingComment"
  FROM work_orders o`;

type Row = Omit<WorkOrder, 'responseSla' | 'resolutionSla'>;

/** "Due soon" in the last quarter of the time allowed, and at most in its last 4 hours. */
const DUE_SOON_SHARE = 0.25;
const DUE_SOON_MAX_MS = 4 * 3_600_000;

/** Where a clock stands: met or breached once stopped, else on track, due soon or breached by `now`. */
export function slaStatus(startedAt: number, dueAt: number, stoppedAt: number | null, now: number): SlaStatus {
  if (stoppedAt !== null) return stoppedAt <= dueAt ? 'met' : 'breached';
  if (now > dueAt) return 'breached';
  const soon = dueAt - Math.min((dueAt - startedAt) * DUE_SOON_SHARE, DUE_SOON_MAX_MS);
  return now >= soon ? 'due_soon' : 'on_track';
}

function toOrder(row: Row, now: number): WorkOrder {
  // The resolution clock stops at completion; a cancelled order's clocks stop when it was cancelled.
  const stoppedResponse = row.respondedAt ?? row.cancelledAt;
  const stoppedResolution = row.completedAt ?? row.closedAt ?? row.cancelledAt;
  return {
    ...row,
    responseSla: slaStatus(row.createdAt, row.responseDueAt, stoppedResponse, now),
    resolutionSla: slaStatus(row.createdAt, row.resolutionDueAt, stoppedResolution, now),
  };
}

export async function selectOrders(db: SqlExecutor, where: string, params: unknown[], now: number, tail = ''): Promise<WorkOrder[]> {
  return (await db.query<Row>(`${SELECT} WHERE ${where} ${tail}`, params)).map((r) => toOrder(r, now));
}

export async function loadOrder(db: SqlExecutor, id: string, now: number): Promise<WorkOrder | undefined> {
  return (await selectOrders(db, 'o.id = $1', [id], now))[0];
}

export async function orderEvents(db: SqlExecutor, id: string): Promise<WorkOrderEvent[]> {
  return db.query<WorkOrderEvent>(
    `SELECT id::text AS id, ${ms('at')} AS at, actor, kind, from_state AS "fromState", to_state AS "toState", note
       FROM work_order_events e WHERE e.order_id = $1 ORDER BY e.id`,
    [id],
  );
}

export async function appendOrderEvent(tx: SqlExecutor, id: string, event: { actor: string; kind: string; fromState?: string | null; toState?: string | null; note?: string | null }): Promise<void> {
  await tx.execute('INSERT INTO work_order_events (order_id, actor, kind, from_state, to_state, note) VALUES ($1, $2, $3, $4, $5, $6)', [
    id,
    event.actor,
    event.kind,
    event.fromState ?? null,
    event.toState ?? null,
    event.note ?? null,
  ]);
}

/** Order ids are bigserial numbers, given as digits or as the number people quote (WO-000123). */
export function parseOrderId(id: string): string | undefined {
  const match = /^(?:WO-)?0*([1-9][0-9]{0,17})$/i.exec(id);
  return match ? match[1] : undefined;
}
