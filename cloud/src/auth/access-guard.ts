import '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.js';
import { PERMISSIONS, ROUTE_ACCESS, type RouteAccess } from './access-policy.js';
import type { ApiTokenStore } from './api-tokens.js';
import { canSeeSite, type Principal } from './roles.js';
import { sameSecret } from './secrets.js';
import type { SessionStore } from './sessions.js';

export const SESSION_COOKIE = 'gh_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface AccessGuardOptions {
  sessions: SessionStore;
  tokens: ApiTokenStore;
  /** /metrics answers loopback clients without a token (a Prometheus on the same machine) */
  metricsFromLoopback: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/** Who is asking: an API token (Authorization: Bearer) first, else the session cookie. */
export async function authenticate(request: FastifyRequest, options: AccessGuardOptions): Promise<Principal | undefined> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw new ApiError('GH_UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
    const principal = await options.tokens.resolve(match[1]!);
    if (!principal) throw new ApiError('GH_UNAUTHENTICATED', 'this API token is unknown, expired or revoked');
    return principal;
  }
  const sessionId = request.cookies[SESSION_COOKIE];
  if (sessionId === undefined || sessionId === '') return undefined;
  const principal = await options.sessions.resolve(sessionId);
  if (!principal) throw new ApiError('GH_UNAUTHENTICATED', 'your session has ended: log in again');
  return principal;
}

/** A state-changing request must come from our own pages: same origin when the browser says, and the session's CSRF token. */
function checkCsrf(request: FastifyRequest, principal: Principal | undefined): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== request.headers.host) throw new ApiError('GH_CSRF', `a request from ${origin} may not change anything here`);
  } else if (origin === 'null') {
    throw new ApiError('GH_CSRF', 'a request from an opaque origin may not change anything here');
  }
  if (principal?.kind !== 'session') return;
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !principal.csrfToken || !sameSecret(sent, principal.csrfToken)) {
    throw new ApiError('GH_CSRF', `missing or wrong ${CSRF_HEADER} header (it comes with the login and GET /api/v1/auth/me)`);
  }
}

function describe(access: RouteAccess): string {
  return access.permission === 'public' ? 'public' : `${access.permission} (roles ${PERMISSIONS[access.permission].join(', ')})`;
}

/**
 * Puts every route behind the role × route matrix (ROUTE_ACCESS): a route missing from it stops the
 * API from starting, so nothing is ever served unguarded by accident.
 */
export function installAccessGuard(app: FastifyInstance, options: AccessGuardOptions): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'OPTIONS') continue;
      if (!ROUTE_ACCESS[routeKey(method, route.url)]) throw new Error(`route ${method} ${route.url} is not in the role × route matrix (cloud/src/auth/access-policy.ts)`);
    }
  });

  app.addHook('onRequest', async (request) => {
    const url = request.routeOptions.url;
    if (url === undefined) return; // 404: the not-found handler answers
    if (url === '/metrics') {
      // From this machine, and not forwarded: a reverse proxy on this machine passes on others' requests.
      const direct = isLoopback(request.socket.remoteAddress) && request.headers['x-forwarded-for'] === undefined && request.headers.forwarded === undefined;
      if (options.metricsFromLoopback && direct && request.headers.authorization === undefined) return;
      const principal = await authenticate(request, options);
      if (!principal || principal.kind !== 'token') throw new ApiError('GH_UNAUTHENTICATED', '/metrics needs an API token (Authorization: Bearer …) with the admin role');
      if (!principal.roles.some((r) => (PERMISSIONS['service.read'] as readonly string[]).includes(r))) throw new ApiError('GH_FORBIDDEN', '/metrics needs a token with the admin role');
      return;
    }
    if (!url.startsWith('/api/')) return; // the console's static files
    const access = ROUTE_ACCESS[routeKey(request.method, url)];
    if (!access) throw new ApiError('GH_NOT_FOUND');
    if (access.permission === 'public') {
      checkCsrf(request, undefined);
      return;
    }
    const principal = await authenticate(request, options);
    if (!principal) throw new ApiError('GH_UNAUTHENTICATED');
    checkCsrf(request, principal);
    const allowed = PERMISSIONS[access.permission] as readonly string[];
    if (!principal.roles.some((r) => allowed.includes(r))) {
      throw new ApiError('GH_FORBIDDEN', `${request.method} ${url} needs ${describe(access)}; ${principal.username} has ${principal.roles.join(', ') || 'no role'}`);
    }
    const site = access.site === 'param' ? (request.params as Record<string, unknown>).site : access.site === 'query' ? (request.query as Record<string, unknown>).site : undefined;
    if (typeof site === 'string' && !canSeeSite(principal, site)) throw new ApiError('GH_SITE_FORBIDDEN', `site ${site} is not granted to ${principal.username}`);
    request.principal = principal;
  });
}
