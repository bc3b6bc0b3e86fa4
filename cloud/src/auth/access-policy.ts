import type { Role } from './roles.js';

/**
 * What each role may do. The one place that says who may do what: routes name a permission in
 * ROUTE_ACCESS below, never roles.
 */
export const PERMISSIONS = {
  /** sites, gateways, devices, assets, doors overview */
  'sites.read': ['admin', 'guard', 'engineer', 'facilities'],
  /** meter readings, rollups */
  'readings.read': ['admin', 'engineer', 'facilities'],
  /** energy findings of the anomaly detectors, and which meters they watch */
  'findings.read': ['admin', 'engineer', 'facilities'],
  /** door, reader and camera events with their pictures */
  'events.read': ['admin', 'guard', 'facilities'],
  /** work orders (工单): the board, an order and its history */
  'workorders.read': ['admin', 'guard', 'engineer', 'facilities'],
  /** raise a work order by hand (a resident's call, a patrol's report) */
  'workorders.report': ['admin', 'guard', 'facilities'],
  /** assign, start, hold, complete, close, cancel, reopen orders; checklist, parts, labour, rating; the equipment ledger and plans */
  'workorders.manage': ['admin', 'facilities'],
  /** the alarm queue */
  'alarms.read': ['admin', 'guard', 'engineer', 'facilities'],
  /** acknowledge, clear, close alarms */
  'alarms.handle': ['admin', 'guard'],
  /** open or close a door remotely */
  'doors.command': ['admin', 'guard'],
  /** ask a camera for a picture now */
  'cameras.snapshot': ['admin', 'guard'],
  /** the log of commands sent to gateways */
  'commands.read': ['admin', 'guard'],
  /** the audit log */
  'audit.read': ['admin', 'guard'],
  /** dead letters, Prometheus metrics */
  'service.read': ['admin'],
  /** users, their roles and sites, everybody's tokens */
  'users.manage': ['admin'],
  /** one's own account: who am I, password, own tokens, live push */
  self: ['admin', 'guard', 'engineer', 'facilities'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/**
 * How a route's site is checked:
 * - `param`: `:site` in the path must be granted (403 otherwise);
 * - `query`: `?site=` must be granted when given; without it the handler lists granted sites only;
 * - `record`: the handler loads the record and answers 404 if its site is not granted;
 * - `none`: not about a site (accounts, service).
 */
export type SiteScope = 'param' | 'query' | 'record' | 'none';

export interface RouteAccess {
  /** `public`: no login needed */
  permission: Permission | 'public';
  site: SiteScope;
}

/**
 * The role × route matrix: every /api/v1 route is listed here (the API refuses to start with one that
 * is not), with the permission it needs and how its site is checked.
 */
export const ROUTE_ACCESS: Record<string, RouteAccess> = {
  'GET /api/v1/health': { permission: 'public', site: 'none' },
  'GET /api/v1/openapi.json': { permission: 'public', site: 'none' },
  'POST /api/v1/auth/login': { permission: 'public', site: 'none' },
  'POST /api/v1/auth/logout': { permission: 'self', site: 'none' },
  'GET /api/v1/auth/me': { permission: 'self', site: 'none' },
  'POST /api/v1/auth/password': { permission: 'self', site: 'none' },
  'GET /api/v1/tokens': { permission: 'self', site: 'none' },
  'POST /api/v1/tokens': { permission: 'self', site: 'none' },
  'DELETE /api/v1/tokens/:id': { permission: 'self', site: 'none' },
  'GET /api/v1/users': { permission: 'users.manage', site: 'none' },
  'POST /api/v1/users': { permission: 'users.manage', site: 'none' },
  'PATCH /api/v1/users/:username': { permission: 'users.manage', site: 'none' },
  'POST /api/v1/users/:username/unlock': { permission: 'users.manage', site: 'none' },
  'GET /api/v1/live': { permission: 'self', site: 'query' },

  'GET /api/v1/sites': { permission: 'sites.read', site: 'query' },
  'GET /api/v1/gateways': { permission: 'sites.read', site: 'query' },
  'GET /api/v1/devices': { permission: 'sites.read', site: 'query' },
  'GET /api/v1/sites/:site/assets': { permission: 'sites.read', site: 'param' },
  'GET /api/v1/sites/:site/doors': { permission: 'sites.read', site: 'param' },
  'GET /api/v1/sites/:site/devices/:device/latest': { permission: 'readings.read', site: 'param' },
  'GET /api/v1/series': { permission: 'readings.read', site: 'query' },
  'GET /api/v1/sites/:site/rollups': { permission: 'readings.read', site: 'param' },
  'GET /api/v1/sites/:site/findings': { permission: 'findings.read', site: 'param' },
  'GET /api/v1/sites/:site/findings/:id': { permission: 'findings.read', site: 'param' },
  'GET /api/v1/sites/:site/detection': { permission: 'findings.read', site: 'param' },
  'GET /api/v1/sites/:site/rollup-table': { permission: 'readings.read', site: 'param' },
  'GET /api/v1/events': { permission: 'events.read', site: 'query' },
  'GET /api/v1/events.csv': { permission: 'events.read', site: 'query' },
  'GET /api/v1/sites/:site/events/:gateway/:event/attachments/:index': { permission: 'events.read', site: 'param' },
  'POST /api/v1/sites/:site/cameras/:device/snapshot': { permission: 'cameras.snapshot', site: 'param' },
  'GET /api/v1/sites/:site/cameras/:device/snapshot': { permission: 'events.read', site: 'param' },

  'GET /api/v1/alarms': { permission: 'alarms.read', site: 'query' },
  'GET /api/v1/alarms/:id': { permission: 'alarms.read', site: 'record' },
  'POST /api/v1/alarms/:id/acknowledge': { permission: 'alarms.handle', site: 'record' },
  'POST /api/v1/alarms/:id/clear': { permission: 'alarms.handle', site: 'record' },
  'POST /api/v1/alarms/:id/close': { permission: 'alarms.handle', site: 'record' },

  'GET /api/v1/work-orders': { permission: 'workorders.read', site: 'query' },
  'POST /api/v1/work-orders': { permission: 'workorders.report', site: 'record' },
  'GET /api/v1/work-order-teams': { permission: 'workorders.read', site: 'query' },
  'GET /api/v1/work-order-figures': { permission: 'workorders.read', site: 'query' },
  'GET /api/v1/work-orders/:id': { permission: 'workorders.read', site: 'record' },
  'POST /api/v1/work-orders/:id/actions': { permission: 'workorders.manage', site: 'record' },
  'POST /api/v1/work-orders/:id/comments': { permission: 'workorders.read', site: 'record' },
  'POST /api/v1/work-orders/:id/rating': { permission: 'workorders.manage', site: 'record' },
  'PATCH /api/v1/work-orders/:id': { permission: 'workorders.manage', site: 'record' },
  'POST /api/v1/work-orders/:id/photos': { permission: 'workorders.manage', site: 'record' },
  'GET /api/v1/work-orders/:id/photos/:photo': { permission: 'workorders.read', site: 'record' },

  'GET /api/v1/assets': { permission: 'workorders.read', site: 'query' },
  'GET /api/v1/sites/:site/assets/:asset': { permission: 'workorders.read', site: 'param' },
  'POST /api/v1/sites/:site/assets': { permission: 'workorders.manage', site: 'param' },
  'PATCH /api/v1/sites/:site/assets/:asset': { permission: 'workorders.manage', site: 'param' },
  'POST /api/v1/sites/:site/assets/:asset/documents': { permission: 'workorders.manage', site: 'param' },
  'GET /api/v1/sites/:site/assets/:asset/documents/:document': { permission: 'workorders.read', site: 'param' },
  'GET /api/v1/maintenance-plan-templates': { permission: 'workorders.read', site: 'none' },
  'GET /api/v1/maintenance-plans': { permission: 'workorders.read', site: 'query' },
  'GET /api/v1/maintenance-calendar': { permission: 'workorders.read', site: 'query' },
  'GET /api/v1/maintenance-plans/:id': { permission: 'workorders.read', site: 'record' },
  'POST /api/v1/maintenance-plans': { permission: 'workorders.manage', site: 'record' },
  'PATCH /api/v1/maintenance-plans/:id': { permission: 'workorders.manage', site: 'record' },
  'POST /api/v1/maintenance-plans/:id/skip': { permission: 'workorders.manage', site: 'record' },

  'POST /api/v1/sites/:site/doors/:device/commands': { permission: 'doors.command', site: 'param' },
  'GET /api/v1/sites/:site/commands': { permission: 'commands.read', site: 'param' },
  'GET /api/v1/commands/:id': { permission: 'commands.read', site: 'record' },
  'GET /api/v1/audit': { permission: 'audit.read', site: 'query' },
  'GET /api/v1/dead-letters': { permission: 'service.read', site: 'none' },
};

export function rolesAllowed(permission: Permission): readonly Role[] {
  return PERMISSIONS[permission];
}

/** The matrix as a Markdown table (route, site check, one column per role), as the docs show it. */
export function roleRouteMatrixMarkdown(): string {
  const roles = ['admin', 'guard', 'engineer', 'facilities'] as const;
  const lines = [`| route | permission | site | ${roles.join(' | ')} |`, `| --- | --- | --- | ${roles.map(() => ':---:').join(' | ')} |`];
  for (const [route, access] of Object.entries(ROUTE_ACCESS)) {
    const allowed: readonly string[] = access.permission === 'public' ? roles : PERMISSIONS[access.permission];
    const marks = roles.map((r) => (access.permission === 'public' ? 'open' : allowed.includes(r) ? '✓' : '—'));
    lines.push(`| \`${route}\` | ${access.permission} | ${access.site} | ${marks.join(' | ')} |`);
  }
  return lines.join('\n');
}
