import { readFileSync } from 'node:fs';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildApi,
  CommandService,
  createAuthServices,
  createCloudMetrics,
  createPgliteClient,
  DeadLetterStore,
  ensureFirstAdmin,
  EventStore,
  hashPassword,
  LiveHub,
  migrate,
  openTimeSeriesStore,
  roleRouteMatrixMarkdown,
  SiteRegistry,
  type AuthServices,
  type SqlClient,
} from '@gatehouse/cloud';

const silent = pino({ level: 'silent' });

describe('accounts: passwords, sessions, CSRF, tokens, lockouts', () => {
  let db: SqlClient;
  let app: FastifyInstance;
  let auth: AuthServices;
  const host = 'console.example';

  const request = (opts: InjectOptions & { from?: string }) =>
    app.inject({ ...opts, remoteAddress: opts.from ?? '10.0.0.1', headers: { host, ...(opts.headers ?? {}) } });
  const login = (username: string, password: string, from?: string) =>
    request({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, ...(from ? { from } : {}) });
  const cookieOf = (res: LightMyRequestResponse) => {
    const cookie = res.cookies.find((c) => c.name === 'gh_session');
    if (!cookie) throw new Error(`no session cookie in ${res.statusCode} ${res.body}`);
    return `gh_session=${cookie.value}`;
  };

  /** The whole API over this test's database and accounts. */
  const buildTestApi = async (extra: { trustProxy?: string } = {}) =>
    buildApi({
      db,
      timeSeries: await openTimeSeriesStore(db),
      registry: new SiteRegistry(db),
      events: new EventStore(db),
      deadLetters: new DeadLetterStore(db),
      commands: new CommandService({ db, publish: async () => undefined, logger: silent }),
      metrics: createCloudMetrics(),
      logger: silent,
      version: 'test',
      ingestConnected: () => true,
      auth,
      live: new LiveHub({ db, logger: silent }),
      ...extra,
    });

  beforeAll(async () => {
    db = await createPgliteClient(undefined);
    await migrate(db);
    auth = createAuthServices(db);
    const registry = new SiteRegistry(db);
    await registry.ensureSite('site-a');
    await registry.ensureSite('site-b');
    app = await buildTestApi();
    await db.transaction(async (tx) => {
      await auth.users.create(tx, { username: 'guard.li', displayName: 'Li', password: 'guard-password-1', roles: ['guard'], sites: ['site-a'] });
      await auth.users.create(tx, { username: 'boss', password: 'boss-password-12', roles: ['admin'], sites: '*' });
    });
  });

  afterAll(async () => {
    await app.close();
    await db.close();
  });

  it('stores passwords as Argon2id hashes only', async () => {
    const rows = await db.query<{ hash: string }>(`SELECT password_hash AS hash FROM users WHERE username = 'guard.li'`);
    expect(rows[0]!.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(rows[0]!.hash).not.toContain('guard-password-1');
    expect(await hashPassword('x')).not.toBe(await hashPassword('x'));
  });

  it('logs in with an HttpOnly, SameSite=Strict cookie and answers who is logged in with the CSRF token', async () => {
    const res = await login('guard.li', 'guard-password-1');
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.find((c) => c.name === 'gh_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const body = res.json() as { user: unknown; csrfToken: string };
    expect(body.user).toEqual({ username: 'guard.li', displayName: 'Li', roles: ['guard'], sites: ['site-a'] });
    const me = await request({ url: '/api/v1/auth/me', headers: { cookie: cookieOf(res) } });
    expect(me.json()).toMatchObject({ user: { username: 'guard.li' }, csrfToken: body.csrfToken, via: 'session' });
    // The table keeps only a hash of the cookie.
    const stored = await db.query<{ id: string }>('SELECT id_hash AS id FROM sessions');
    expect(stored.map((s) => s.id)).not.toContain(cookie.value);
  });

  it('refuses anonymous, forged, expired and revoked sessions', async () => {
    expect((await request({ url: '/api/v1/sites' })).statusCode).toBe(401);
    expect((await request({ url: '/api/v1/sites', headers: { cookie: 'gh_session=forged-not-a-session' } })).json()).toMatchObject({ code: 'GH_UNAUTHENTICATED' });
    const res = await login('guard.li', 'guard-password-1');
    const cookie = cookieOf(res);
    expect((await request({ url: '/api/v1/sites', headers: { cookie } })).statusCode).toBe(200);
    await db.execute(`UPDATE sessions SET expires_at = now() - interval '1 second'`);
    expect((await request({ url: '/api/v1/sites', headers: { cookie } })).json()).toMatchObject({ code: 'GH_UNAUTHENTICATED', message: 'your session has ended: log in again' });
    const again = cookieOf(await login('guard.li', 'guard-password-1'));
    const csrf = (await request({ url: '/api/v1/auth/me', headers: { cookie: again } })).json().csrfToken as string;
    expect((await request({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: again, 'x-csrf-token': csrf } })).statusCode).toBe(204);
    expect((await request({ url: '/api/v1/sites', headers: { cookie: again } })).statusCode).toBe(401);
  });

  it('refuses changes without the CSRF token, with a wrong one, or from another origin', async () => {
    const res = await login('boss', 'boss-password-12');
    const cookie = cookieOf(res);
    const csrf = (res.json() as { csrfToken: string }).csrfToken;
    const create = (headers: Record<string, string>) =>
      request({ method: 'POST', url: '/api/v1/tokens', headers: { cookie, ...headers }, payload: { name: 'ci', roles: ['admin'], sites: '*' } });
    expect((await create({})).json()).toMatchObject({ code: 'GH_CSRF' });
    expect((await create({ 'x-csrf-token': 'wrong' })).json()).toMatchObject({ code: 'GH_CSRF' });
    expect((await create({ 'x-csrf-token': csrf, origin: 'https://evil.example' })).json()).toMatchObject({ code: 'GH_CSRF', message: 'a request from https://evil.example may not change anything here' });
    expect((await create({ 'x-csrf-token': csrf, origin: `https://${host}` })).statusCode).toBe(201);
    // Nothing was created by the refused attempts.
    expect((await auth.tokens.list('boss')).length).toBe(1);
  });

  it('API tokens: scoped, hashed, revocable, expiring, never beyond their owner', async () => {
    const res = await login('boss', 'boss-password-12', '10.0.0.9');
    const cookie = cookieOf(res);
    const csrf = (res.json() as { csrfToken: string }).csrfToken;
    const created = await request({ method: 'POST', url: '/api/v1/tokens', headers: { cookie, 'x-csrf-token': csrf }, payload: { name: 'grafana', roles: ['admin'], sites: ['site-a'], expiresInDays: 30 } });
    const { token, id } = created.json() as { token: string; id: string };
    expect(token).toMatch(/^gh_/);
    const rows = await db.query<{ hash: string }>('SELECT token_hash AS hash FROM api_tokens WHERE id = $1', [id]);
    expect(rows[0]!.hash).not.toContain(token);
    const bearer = { authorization: `Bearer ${token}` };
    expect((await request({ url: '/api/v1/sites', headers: bearer })).json().sites.map((s: { id: string }) => s.id)).toEqual(['site-a']);
    expect((await request({ url: '/api/v1/sites/site-b/assets', headers: bearer })).json()).toMatchObject({ code: 'GH_SITE_FORBIDDEN' });
    // A guard cannot mint a token with roles or sites beyond theirs.
    const guard = await login('guard.li', 'guard-password-1', '10.0.0.9');
    const g = { cookie: cookieOf(guard), 'x-csrf-token': (guard.json() as { csrfToken: string }).csrfToken };
    expect((await request({ method: 'POST', url: '/api/v1/tokens', headers: g, payload: { name: 'x', roles: ['admin'], sites: ['site-a'] } })).json()).toMatchObject({ code: 'GH_FORBIDDEN' });
    expect((await request({ method: 'POST', url: '/api/v1/tokens', headers: g, payload: { name: 'x', roles: ['guard'], sites: ['site-b'] } })).json()).toMatchObject({ code: 'GH_FORBIDDEN' });
    // A token loses what its owner loses.
    await db.execute(`UPDATE users SET roles = '{engineer}' WHERE username = 'boss'`);
    expect((await request({ url: '/api/v1/users', headers: bearer })).json()).toMatchObject({ code: 'GH_FORBIDDEN' });
    await db.execute(`UPDATE users SET roles = '{admin}' WHERE username = 'boss'`);
    expect((await request({ url: '/api/v1/users', headers: bearer })).statusCode).toBe(200);
    expect((await request({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: { cookie, 'x-csrf-token': csrf } })).statusCode).toBe(204);
    expect((await request({ url: '/api/v1/sites', headers: bearer })).json()).toMatchObject({ code: 'GH_UNAUTHENTICATED', message: 'this API token is unknown, expired or revoked' });
    const expiring = await db.transaction((tx) => auth.tokens.create(tx, 'boss', { name: 'old', roles: ['admin'], sites: '*', expiresAt: Date.now() + 60_000 }));
    await db.execute(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [expiring.stored.id]);
    expect((await request({ url: '/api/v1/sites', headers: { authorization: `Bearer ${expiring.token}` } })).statusCode).toBe(401);
    expect((await request({ url: '/api/v1/sites', headers: { authorization: 'Bearer gh_forged' } })).statusCode).toBe(401);
    expect((await request({ url: '/api/v1/sites', headers: { authorization: 'Basic Ym9zczpib3Nz' } })).json()).toMatchObject({ code: 'GH_UNAUTHENTICATED' });
  });

  it('locks an account per address after repeated failures, for a while only, and an admin can unlock it', async () => {
    await db.execute('DELETE FROM login_failures');
    for (let i = 0; i < 5; i++) expect((await login('boss', 'wrong-password', '203.0.113.5')).json()).toMatchObject({ code: 'GH_BAD_CREDENTIALS' });
    const locked = await login('boss', 'boss-password-12', '203.0.113.5');
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ code: 'GH_LOCKED_OUT' });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
    // The attacker's address is locked, not the admin: from the control room the admin logs in.
    expect((await login('boss', 'boss-password-12', '10.1.1.1')).statusCode).toBe(200);
    // The lock ends on its own.
    await db.execute(`UPDATE login_failures SET at = at - interval '16 minutes'`);
    expect((await login('boss', 'boss-password-12', '203.0.113.5')).statusCode).toBe(200);
    // An admin's unlock lifts a lock at once.
    for (let i = 0; i < 5; i++) await login('guard.li', 'nope-nope-nope', '203.0.113.7');
    expect((await login('guard.li', 'guard-password-1', '203.0.113.7')).statusCode).toBe(429);
    await auth.throttle.unlock('guard.li');
    expect((await login('guard.li', 'guard-password-1', '203.0.113.7')).statusCode).toBe(200);
  });

  it('refuses an address that tries many accounts, and unknown users cost the same as wrong passwords', async () => {
    await db.execute('DELETE FROM login_failures');
    for (let i = 0; i < 20; i++) await login(`nobody${i}`, 'whatever-password', '198.51.100.1');
    expect((await login('guard.li', 'guard-password-1', '198.51.100.1')).json()).toMatchObject({ code: 'GH_LOCKED_OUT' });
    expect((await login('guard.li', 'guard-password-1', '198.51.100.2')).statusCode).toBe(200);
    const failures = await db.query<{ action: string; n: number }>(`SELECT action, count(*)::int AS n FROM audit_log WHERE action = 'login.failed' AND details->>'address' = '198.51.100.1' GROUP BY action`);
    expect(failures).toEqual([{ action: 'login.failed', n: 20 }]);
  });

  it('counts guesses sent all at once: no more than the limit get their password checked', async () => {
    await db.execute('DELETE FROM login_failures');
    const answers = await Promise.all(Array.from({ length: 30 }, () => login('boss', 'parallel-guess-1', '192.0.2.44')));
    const checked = answers.filter((a) => a.statusCode === 401).length;
    expect(checked).toBeLessThanOrEqual(5);
    expect(answers.filter((a) => a.statusCode === 429).length).toBe(30 - checked);
  });

  it('an admin of some sites grants only those, and a new password revokes the user\'s tokens', async () => {
    await db.transaction((tx) => auth.users.create(tx, { username: 'site.admin', password: 'site-admin-pw-1', roles: ['admin'], sites: ['site-a'] }));
    const res = await login('site.admin', 'site-admin-pw-1', '10.0.0.60');
    const h = { cookie: cookieOf(res), 'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken };
    expect((await request({ method: 'PATCH', url: '/api/v1/users/site.admin', headers: h, payload: { sites: '*' } })).json()).toMatchObject({ code: 'GH_FORBIDDEN' });
    expect((await request({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'b.guard', password: 'long-enough-pw', roles: ['guard'], sites: ['site-b'] } })).json()).toMatchObject({ code: 'GH_FORBIDDEN' });
    expect((await request({ method: 'PATCH', url: '/api/v1/users/boss', headers: h, payload: { displayName: 'x' } })).json()).toMatchObject({ code: 'GH_FORBIDDEN' });
    // and sees only the users of its sites
    const listed = ((await request({ url: '/api/v1/users', headers: h })).json() as { users: { username: string; sites: unknown }[] }).users;
    expect(listed.map((u) => u.username)).toEqual(['guard.li', 'site.admin']);
    expect((await request({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'a.guard', password: 'long-enough-pw', roles: ['guard'], sites: ['site-a'] } })).statusCode).toBe(201);
    const made = await db.transaction((tx) => auth.tokens.create(tx, 'a.guard', { name: 'x', roles: ['guard'], sites: ['site-a'], expiresAt: Date.now() + 60_000 }));
    expect((await request({ url: '/api/v1/sites', headers: { authorization: `Bearer ${made.token}` } })).statusCode).toBe(200);
    expect((await request({ method: 'PATCH', url: '/api/v1/users/a.guard', headers: h, payload: { password: 'another-password-1' } })).statusCode).toBe(200);
    expect((await request({ url: '/api/v1/sites', headers: { authorization: `Bearer ${made.token}` } })).statusCode).toBe(401);
    await db.execute(`UPDATE users SET disabled = true WHERE username = 'site.admin'`);
  });

  it('keeps the last admin an admin, and validates account input with clear errors', async () => {
    const res = await login('boss', 'boss-password-12', '10.0.0.50');
    const h = { cookie: cookieOf(res), 'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken };
    expect((await request({ method: 'PATCH', url: '/api/v1/users/boss', headers: h, payload: { roles: ['guard'] } })).json()).toMatchObject({ code: 'GH_CONFLICT', message: 'boss is the last admin: make another admin first' });
    expect((await request({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'Bad Name', password: 'long-enough-pw', roles: ['guard'], sites: '*' } })).json().message).toContain('body.username');
    expect((await request({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'new.guard', password: 'short', roles: ['guard'], sites: '*' } })).json().message).toContain('body.password');
    expect((await request({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'new.guard', password: 'long-enough-pw', roles: ['janitor'], sites: '*' } })).json().message).toContain('body.roles');
    const made = await request({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'new.guard', displayName: '<img src=x onerror=alert(1)>', password: 'long-enough-pw', roles: ['guard'], sites: ['site-a'] } });
    expect(made.statusCode).toBe(201);
    // Stored and served as the text it is.
    expect(made.json().displayName).toBe('<img src=x onerror=alert(1)>');
    expect((await request({ method: 'POST', url: '/api/v1/users', headers: h, payload: { username: 'new.guard', password: 'long-enough-pw', roles: ['guard'], sites: '*' } })).json()).toMatchObject({ code: 'GH_CONFLICT' });
    // Disabling ends the user's sessions.
    const theirs = cookieOf(await login('new.guard', 'long-enough-pw', '10.0.0.51'));
    expect((await request({ method: 'PATCH', url: '/api/v1/users/new.guard', headers: h, payload: { disabled: true } })).statusCode).toBe(200);
    expect((await request({ url: '/api/v1/sites', headers: { cookie: theirs } })).statusCode).toBe(401);
    expect((await login('new.guard', 'long-enough-pw', '10.0.0.51')).statusCode).toBe(401);
  });

  it('creates the first admin once, from GATEHOUSE_ADMIN_PASSWORD or with a generated password', async () => {
    const fresh = await createPgliteClient(undefined);
    await migrate(fresh);
    const users = createAuthServices(fresh).users;
    const made = await ensureFirstAdmin(fresh, users, {});
    expect(made?.generatedPassword).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(await ensureFirstAdmin(fresh, users, {})).toBeUndefined();
    await fresh.close();
    const other = await createPgliteClient(undefined);
    await migrate(other);
    const otherUsers = createAuthServices(other).users;
    await expect(ensureFirstAdmin(other, otherUsers, { GATEHOUSE_ADMIN_PASSWORD: 'short' })).rejects.toThrow(/at least 10/);
    expect(await ensureFirstAdmin(other, otherUsers, { GATEHOUSE_ADMIN_PASSWORD: 'a-long-admin-password' })).toEqual({ username: 'admin' });
    expect((await otherUsers.get('admin'))).toMatchObject({ roles: ['admin'], sites: '*' });
    await other.close();
  });

  it('answers /metrics to loopback without a token, and to others only with an admin token', async () => {
    expect((await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics', remoteAddress: '10.0.0.1' })).statusCode).toBe(401);
    const admin = await db.transaction((tx) => auth.tokens.create(tx, 'boss', { name: 'prometheus', roles: ['admin'], sites: '*', expiresAt: Date.now() + 60_000 }));
    expect((await app.inject({ url: '/metrics', remoteAddress: '10.0.0.1', headers: { authorization: `Bearer ${admin.token}` } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/health', remoteAddress: '10.0.0.1' })).statusCode).toBe(200);
  });

  it('behind a reverse proxy on this machine, judges /metrics and lockouts by the client\'s address, not the proxy\'s', async () => {
    const proxied = await buildTestApi({ trustProxy: '127.0.0.1' });
    const viaProxy = (forwardedFor: string, from = '127.0.0.1') => proxied.inject({ url: '/metrics', remoteAddress: from, headers: { 'x-forwarded-for': forwardedFor } });
    expect((await viaProxy('203.0.113.9')).statusCode).toBe(401);
    // A client cannot pass for the machine itself by writing the header.
    expect((await viaProxy('127.0.0.1')).statusCode).toBe(401);
    expect((await viaProxy('127.0.0.1', '203.0.113.9')).statusCode).toBe(401);
    expect((await proxied.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    // Lockouts count the client behind the trusted proxy, and only a trusted proxy's word is taken.
    await db.execute('DELETE FROM login_failures');
    const attempt = (forwardedFor: string, from: string) =>
      proxied.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: from, headers: { 'x-forwarded-for': forwardedFor }, payload: { username: 'guard.li', password: 'wrong-password' } });
    await attempt('198.51.100.77', '127.0.0.1');
    await attempt('198.51.100.77', '203.0.113.66');
    const addresses = await db.query<{ address: string }>('SELECT address FROM login_failures ORDER BY at');
    expect(addresses.map((a) => a.address)).toEqual(['198.51.100.77', '203.0.113.66']);
    await proxied.close();
  });
});

describe('the role × route matrix', () => {
  it('is documented in docs/console.md exactly as the code has it', () => {
    const doc = readFileSync(new URL('../../../docs/console.md', import.meta.url), 'utf8');
    const between = /<!-- role-route-matrix:start -->\n([\s\S]*?)\n<!-- role-route-matrix:end -->/.exec(doc)?.[1];
    expect(between).toBe(roleRouteMatrixMarkdown());
  });
});
