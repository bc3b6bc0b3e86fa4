import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, ROLES, ROUTE_ACCESS, startCloud, type RunningCloud, type Role } from '@gatehouse/cloud';

// Every route of the matrix, called by a token of each single role granted site-a only: the route
// answers 403 GH_FORBIDDEN exactly when the role lacks its permission, and for site-scoped routes a
// site that is not granted answers 403 GH_SITE_FORBIDDEN (or 404 for records) whatever the role.
describe('role × route × site matrix, enforced on every route', () => {
  let cloud: RunningCloud;
  const tokens = new Map<Role, string>();

  beforeAll(async () => {
    cloud = await startCloud(
      {
        http: { host: '127.0.0.1', port: 0 },
        storage: { kind: 'pglite' },
        embeddedBroker: { host: '127.0.0.1', port: 0 },
        sites: [{ id: 'site-a' }, { id: 'site-b' }],
      },
      pino({ level: 'silent' }),
    );
    for (const role of ROLES) {
      const token = await cloud.db.transaction(async (tx) => {
        await cloud.auth.users.create(tx, { username: `only.${role}`, password: 'matrix-password-1', roles: [role], sites: ['site-a'] });
        return (await cloud.auth.tokens.create(tx, `only.${role}`, { name: 'matrix', roles: [role], sites: ['site-a'], expiresAt: Date.now() + 3_600_000 })).token;
      });
      tokens.set(role, token);
    }
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  const call = (route: string, site: string, role: Role) => {
    const [method, pattern] = route.split(' ') as [string, string];
    const url = pattern
      .replace(':site', site)
      .replace(/:(\w+)/g, (_, name: string) => (name === 'index' ? '0' : name === 'id' ? '1' : name === 'username' ? 'nobody' : 'x'));
    const withQuery = url.includes('?') ? url : `${url}?site=${site}`;
    return cloud.api.inject({
      method: method as 'GET',
      url: ROUTE_ACCESS[route]!.site === 'query' ? withQuery : url,
      headers: { authorization: `Bearer ${tokens.get(role)}`, 'content-type': 'application/json' },
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: '{}' }),
    });
  };

  const guarded = Object.entries(ROUTE_ACCESS).filter(([route, access]) => access.permission !== 'public' && route !== 'GET /api/v1/live');

  it.each(guarded)('%s', async (route, access) => {
    const allowed: readonly string[] = PERMISSIONS[access.permission as keyof typeof PERMISSIONS];
    for (const role of ROLES) {
      const res = await call(route, 'site-a', role);
      const body = res.headers['content-type']?.toString().includes('json') ? (res.json() as { code?: string }) : {};
      if (allowed.includes(role)) {
        expect(body.code, `${role} on ${route}: ${res.statusCode} ${res.body.slice(0, 200)}`).not.toBe('GH_FORBIDDEN');
        expect(res.statusCode, `${role} on ${route}`).not.toBe(401);
      } else {
        expect([res.statusCode, body.code], `${role} on ${route}`).toEqual([403, 'GH_FORBIDDEN']);
      }
      if (allowed.includes(role) && (access.site === 'param' || access.site === 'query')) {
        const other = await call(route, 'site-b', role);
        expect([other.statusCode, (other.json() as { code?: string }).code], `${role} on ${route} at a site not granted`).toEqual([403, 'GH_SITE_FORBIDDEN']);
      }
    }
  });

  it('refuses anonymous callers on every route that is not public', async () => {
    for (const [route] of guarded) {
      const [method, pattern] = route.split(' ') as [string, string];
      const res = await cloud.api.inject({ method: method as 'GET', url: pattern.replace(/:(\w+)/g, 'x') });
      expect([res.statusCode, (res.json() as { code?: string }).code], route).toEqual([401, 'GH_UNAUTHENTICATED']);
    }
  });
});
