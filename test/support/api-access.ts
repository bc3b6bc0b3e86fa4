import type { AuthServices, Role } from '@gatehouse/cloud';
import type { SqlClient } from '@gatehouse/cloud';

/**
 * An API token for tests that call the cloud's HTTP API as a script would: made directly in the
 * database for a user of the given roles (created if missing) over every site.
 */
export async function apiTokenFor(
  cloud: { db: SqlClient; auth: AuthServices },
  options: { username?: string; roles?: Role[]; sites?: string[] | '*' } = {},
): Promise<string> {
  const username = options.username ?? 'test.admin';
  const roles = options.roles ?? ['admin', 'guard', 'engineer', 'facilities'];
  const sites = options.sites ?? '*';
  return cloud.db.transaction(async (tx) => {
    if (!(await cloud.auth.users.get(username, tx))) await cloud.auth.users.create(tx, { username, password: 'test-password-1234', roles, sites });
    const { token } = await cloud.auth.tokens.create(tx, username, { name: 'test', roles, sites, expiresAt: Date.now() + 86_400_000 });
    return token;
  });
}

/** fetch against the cloud's API with a bearer token. */
export function authedFetch(base: string, token: string): (path: string, init?: RequestInit) => Promise<Response> {
  return (path, init) => fetch(`${base}${path}`, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } });
}

const tokens = new WeakMap<object, Map<string, Promise<string>>>();

/**
 * fetch against a running cloud's API (`path` from /api/v1/…) as a user of the given roles over every
 * site (default: test.admin with every role); the token is made once per cloud and user.
 */
export function cloudFetch(
  cloud: { db: SqlClient; auth: AuthServices; httpPort: number },
  path: string,
  init?: RequestInit,
  as: { username?: string; roles?: Role[] } = {},
): Promise<Response> {
  let perUser = tokens.get(cloud);
  if (!perUser) tokens.set(cloud, (perUser = new Map()));
  const key = as.username ?? 'test.admin';
  let token = perUser.get(key);
  if (!token) perUser.set(key, (token = apiTokenFor(cloud, as)));
  return token.then((t) => fetch(`http://127.0.0.1:${cloud.httpPort}${path}`, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), authorization: `Bearer ${t}` } }));
}
