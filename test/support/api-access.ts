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
