import type { Role, User } from './api-types';

/**
 * Which roles may do what, as the server's access policy says. The console only uses it to hide or
 * disable what would be refused; the server checks every request itself.
 */
export const PERMISSIONS = {
  'sites.read': ['admin', 'guard', 'engineer', 'facilities'],
  'events.read': ['admin', 'guard', 'facilities'],
  'alarms.read': ['admin', 'guard', 'engineer', 'facilities'],
  'workorders.read': ['admin', 'guard', 'engineer', 'facilities'],
  'workorders.report': ['admin', 'guard', 'facilities'],
  'workorders.manage': ['admin', 'facilities'],
  'alarms.handle': ['admin', 'guard'],
  'doors.command': ['admin', 'guard'],
  'cameras.snapshot': ['admin', 'guard'],
  'commands.read': ['admin', 'guard'],
  'audit.read': ['admin', 'guard'],
  'users.manage': ['admin'],
  self: ['admin', 'guard', 'engineer', 'facilities'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function hasPermission(user: User | null, permission: Permission): boolean {
  if (!user) return false;
  const allowed: readonly Role[] = PERMISSIONS[permission];
  return user.roles.some((r) => allowed.includes(r));
}
