/**
 * What a maintenance work order (工单) is made of, and its lifecycle: which action is allowed from
 * which state. The one place that says so; the service refuses anything else with GH_BAD_TRANSITION.
 */

export const WORK_ORDER_CATEGORIES = ['electrical', 'plumbing', 'hvac', 'lift', 'fire', 'security', 'cleaning', 'other'] as const;
export type WorkOrderCategory = (typeof WORK_ORDER_CATEGORIES)[number];

export const WORK_ORDER_STATES = ['open', 'assigned', 'in_progress', 'on_hold', 'completed', 'closed', 'cancelled'] as const;
export type WorkOrderState = (typeof WORK_ORDER_STATES)[number];

/** States in which an order still needs work: an automatic order's problem adds to the one in these. */
export const ACTIVE_STATES: readonly WorkOrderState[] = ['open', 'assigned', 'in_progress', 'on_hold'];

/** Where an order came from. */
export const WORK_ORDER_ORIGINS = ['manual', 'finding', 'fault', 'plan'] as const;
export type WorkOrderOrigin = (typeof WORK_ORDER_ORIGINS)[number];

/** 1 urgent, 2 high, 3 normal, 4 low (as alarm priorities). */
export type WorkOrderPriority = 1 | 2 | 3 | 4;

export const WORK_ORDER_ACTIONS = ['assign', 'start', 'hold', 'resume', 'complete', 'close', 'cancel', 'reopen'] as const;
export type WorkOrderAction = (typeof WORK_ORDER_ACTIONS)[number];

/**
 * From which states each action may be taken, and the state it leads to. `assign` also re-assigns an
 * order already assigned or under way (the state stays); `reopen` is what a rating of 2 or less does to a
 * completed order, and what a person does to a closed one that was not fixed.
 */
export const TRANSITIONS: Record<WorkOrderAction, { from: readonly WorkOrderState[]; to: WorkOrderState | 'same' }> = {
  assign: { from: ['open', 'assigned', 'in_progress', 'on_hold'], to: 'same' },
  start: { from: ['assigned'], to: 'in_progress' },
  hold: { from: ['in_progress'], to: 'on_hold' },
  resume: { from: ['on_hold'], to: 'in_progress' },
  complete: { from: ['in_progress'], to: 'completed' },
  close: { from: ['completed'], to: 'closed' },
  cancel: { from: ['open', 'assigned', 'in_progress', 'on_hold'], to: 'cancelled' },
  reopen: { from: ['completed', 'closed'], to: 'assigned' },
};

/** The state an action leads to from `state`, or undefined when it is not allowed there. */
export function nextState(action: WorkOrderAction, state: WorkOrderState): WorkOrderState | undefined {
  const rule = TRANSITIONS[action];
  if (!rule.from.includes(state)) return undefined;
  if (rule.to !== 'same') return rule.to;
  // Assigning an open order makes it assigned; re-assigning keeps the state.
  return state === 'open' ? 'assigned' : state;
}

/** What a refused action says: the state it is in, and the states it would need. */
export function refusalOf(action: WorkOrderAction, state: WorkOrderState): string {
  return `cannot ${action} an order that is ${state.replace('_', ' ')}: only from ${TRANSITIONS[action].from.map((s) => s.replace('_', ' ')).join(', ')}`;
}

/** A satisfaction rating at or below this reopens a completed order. */
export const REOPENING_RATING = 2;
