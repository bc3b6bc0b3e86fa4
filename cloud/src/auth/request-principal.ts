import type { FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.js';
import { PERMISSIONS, type Permission } from './access-policy.js';
import { canSeeSite, type Principal } from './roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** who is asking; set by the access guard on every route that is not public */
    principal?: Principal;
  }
}

/** The principal of a request that passed the access guard. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError('GH_UNAUTHENTICATED');
  return request.principal;
}

/**
 * For routes whose site comes from a record (an alarm, a command): a record of a site the caller is
 * not granted answers 404, as if it did not exist.
 */
export function requireRecordSite(request: FastifyRequest, site: string, what: string): void {
  if (!canSeeSite(principalOf(request), site)) throw new ApiError('GH_NOT_FOUND', `no ${what}`);
}

/** The sites a listing may show: the one asked for (already checked by the guard), else every granted one. */
export function listedSites(request: FastifyRequest, site: string | undefined): readonly string[] | '*' {
  if (site !== undefined) return [site];
  return principalOf(request).sites;
}

/** Whether the caller holds a permission (for parts of an answer only some may see). */
export function mayDo(request: FastifyRequest, permission: Permission): boolean {
  const allowed: readonly string[] = PERMISSIONS[permission];
  return principalOf(request).roles.some((r) => allowed.includes(r));
}
