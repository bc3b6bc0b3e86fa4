import type { Category, WorkOrder, WorkOrderState } from '../workorders/work-order-types';

/** The shapes of the equipment ledger and plan routes (cloud/src/workorders/ledger-routes.ts). Dates are site-local YYYY-MM-DD. */

export interface LedgerAsset {
  site: string;
  id: string;
  name: string | null;
  kind: string;
  building: string | null;
  devices: string[];
  /** declared in the site configuration: its name, kind, building and devices are changed there */
  declared: boolean;
  make: string | null;
  model: string | null;
  serialNo: string | null;
  installedOn: string | null;
  warrantyUntil: string | null;
  location: string | null;
  notes: string | null;
  activeOrders: number;
  nextPlanDue: string | null;
}

export interface AssetDocument {
  id: string;
  title: string;
  fileName: string;
  contentType: string;
  size: number;
  createdBy: string;
  createdAt: number;
  url: string;
}

export type PlanUnit = 'day' | 'week' | 'month';

export interface CalendarRule {
  every: number;
  unit: PlanUnit;
  /** weekly plans: ISO weekdays, 1 Monday … 7 Sunday */
  weekdays?: readonly number[] | null;
}

export interface UsageRule {
  device: string;
  metric: string;
  every: number;
}

export type OccurrenceOutcome = 'raised' | 'skipped';

export interface PlanOccurrence {
  id: string;
  planId: string;
  dueOn: string;
  trigger: 'calendar' | 'usage';
  outcome: OccurrenceOutcome;
  orderId: string | null;
  orderNumber: string | null;
  orderState: WorkOrderState | null;
  reason: string | null;
  actor: string;
  recordedAt: number;
}

export interface MaintenancePlan {
  id: string;
  /** set for plans the site configuration declares */
  key: string | null;
  site: string;
  asset: string;
  name: string;
  template: string | null;
  category: Category;
  priority: number;
  team: string;
  checklist: string[];
  calendar: CalendarRule | null;
  startsOn: string;
  leadDays: number;
  usage: UsageRule | null;
  active: boolean;
  createdBy: string;
  createdAt: number;
  nextDueOn: string | null;
  raiseOn: string | null;
  usageProgress: { since: number | null; every: number; current: number | null } | null;
  lastOccurrence: PlanOccurrence | null;
}

export type PlanDetail = MaintenancePlan & { occurrences: PlanOccurrence[]; upcoming: string[] };

export type AssetDetail = LedgerAsset & { documents: AssetDocument[]; plans: MaintenancePlan[]; history: WorkOrder[] };

export interface PlanTemplate {
  id: string;
  category: Category;
  priority: number;
  calendar: { every: number; unit: PlanUnit };
  leadDays: number;
  assetKinds: string[];
  /** by language: zh-CN, en */
  name: Record<string, string>;
  basis: Record<string, string>;
  checklist: Record<string, string[]>;
}

export type CalendarStatus = 'raised' | 'skipped' | 'planned';

export interface CalendarEntry {
  planId: string;
  planName: string;
  site: string;
  asset: string;
  category: Category;
  dueOn: string;
  status: CalendarStatus;
  orderId: string | null;
  orderNumber: string | null;
  orderState: WorkOrderState | null;
}

/** The asset kinds the dictionaries name (eqKind.*); any other kind is shown as it is. */
export const COMMON_KINDS = [
  'lift',
  'escalator',
  'pump',
  'fan',
  'ahu',
  'chiller',
  'hvac',
  'transformer',
  'main_incomer',
  'distribution_board',
  'meter',
  'water_supply',
  'fire_equipment',
  'door',
] as const;

/** What the ledger accepts as a kind (the API's own rule), checked before sending. */
export const KIND_PATTERN = '[a-z][a-z0-9_]{0,31}';
/** What the ledger accepts as an asset id. */
export const ASSET_ID_PATTERN = '[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}';

/** The largest document the ledger keeps (10 MiB). */
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;
