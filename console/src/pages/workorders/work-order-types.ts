import type { Priority } from '../../shell/api-types';

export const WORK_ORDER_STATES = ['open', 'assigned', 'in_progress', 'on_hold', 'completed', 'closed', 'cancelled'] as const;
export type WorkOrderState = (typeof WORK_ORDER_STATES)[number];
export const CATEGORIES = ['electrical', 'plumbing', 'hvac', 'lift', 'fire', 'security', 'cleaning', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];
export type SlaStatus = 'on_track' | 'due_soon' | 'breached' | 'met';
export type WorkOrderAction = 'assign' | 'start' | 'hold' | 'resume' | 'complete' | 'close' | 'cancel' | 'reopen';

/** The lifecycle as the server has it (docs/work-orders.md): the actions each state offers. */
export const ACTIONS_FROM: Record<WorkOrderState, WorkOrderAction[]> = {
  open: ['assign', 'cancel'],
  assigned: ['start', 'assign', 'cancel'],
  in_progress: ['complete', 'hold', 'assign', 'cancel'],
  on_hold: ['resume', 'assign', 'cancel'],
  completed: ['close', 'reopen'],
  closed: ['reopen'],
  cancelled: [],
};

export interface FindingChart {
  from: number;
  step: number;
  actual: (number | null)[];
  expected: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
}

export interface WorkOrder {
  id: string;
  number: string;
  site: string;
  title: string;
  category: Category;
  priority: Priority;
  state: WorkOrderState;
  origin: 'manual' | 'finding' | 'fault' | 'plan';
  asset: string | null;
  building: string | null;
  floor: string | null;
  unit: string | null;
  device: string | null;
  description: string;
  evidence: (Record<string, unknown> & { kind?: string; chart?: FindingChart | null; alarmId?: string; unit?: string; excess?: number | null; costCny?: number | null }) | null;
  team: string | null;
  assignee: string | null;
  requesterName: string | null;
  requesterContact: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  responseDueAt: number;
  resolutionDueAt: number;
  respondedAt: number | null;
  completedAt: number | null;
  holdReason: string | null;
  occurrences: number;
  conditionClearedAt: number | null;
  checklist: { text: string; done: boolean; doneBy: string | null; doneAt: number | null }[];
  labourMinutes: number;
  costCny: number | null;
  rating: number | null;
  ratingComment: string | null;
  responseSla: SlaStatus;
  resolutionSla: SlaStatus;
}

export interface WorkOrderHistory {
  id: string;
  at: number;
  actor: string;
  kind: string;
  fromState: string | null;
  toState: string | null;
  note: string | null;
}

export interface Team {
  id: string;
  name: string;
  sites: string[] | null;
  members: string[];
}

/** The SLA clock that matters now: the response until someone starts, then the resolution. */
export function currentSla(order: WorkOrder): { which: 'response' | 'resolution'; status: SlaStatus; dueAt: number } {
  if (order.respondedAt === null && order.state !== 'cancelled') return { which: 'response', status: order.responseSla, dueAt: order.responseDueAt };
  return { which: 'resolution', status: order.resolutionSla, dueAt: order.resolutionDueAt };
}
