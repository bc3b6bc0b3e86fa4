import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorBodySchema } from '../api/app.js';
import { ApiError } from '../api/errors.js';
import { epochMs, type Api } from '../api/route-types.js';
import { auditLog } from '../audit/audit-log.js';
import type { SqlClient } from '../storage/sql-client.js';
import { CSRF_HEADER, SESSION_COOKIE } from './access-guard.js';
import type { ApiTokenStore } from './api-tokens.js';
import type { LoginThrottle } from './login-throttle.js';
import { verifyAgainstNothing, verifyPassword } from './passwords.js';
import { principalOf } from './request-principal.js';
import { ROLES, type Principal, type Role } from './roles.js';
import type { SessionStore } from './sessions.js';
import { displayNameSchema, passwordSchema, rolesSchema, sitesSchema, usernameSchema, type StoredUser, type UserStore } from './user-store.js';

export interface AuthRouteDependencies {
  db: SqlClient;
  users: UserStore;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  throttle: LoginThrottle;
  /** Secure cookies: 'auto' when the request came over https (directly or, with trustProxy, through a proxy) */
  secureCookies: boolean | 'auto';
  sessionMaxHours: number;
}

const sitesOut = z.union([z.literal('*'), z.array(z.string())]);
const userOut = z.object({ username: z.string(), displayName: z.string().nullable(), roles: z.array(z.enum(ROLES)), sites: sitesOut });
const userAdminOut = userOut.extend({ disabled: z.boolean(), lockedUntil: epochMs.nullable(), lastLoginAt: epochMs.nullable(), createdAt: epochMs });
const tokenOut = z.object({
  id: z.string(),
  name: z.string(),
  username: z.string(),
  roles: z.array(z.enum(ROLES)),
  sites: sitesOut,
  createdAt: epochMs,
  expiresAt: epochMs,
  revokedAt: epochMs.nullable(),
  lastUsedAt: epochMs.nullable(),
});

const publicUser = (p: Principal | StoredUser) => ({ username: p.username, displayName: p.displayName, roles: [...p.roles], sites: p.sites === '*' ? ('*' as const) : [...p.sites] });

function clientAddress(request: FastifyRequest): string {
  return request.ip ?? request.socket.remoteAddress ?? 'unknown';
}

/** A token may not reach beyond its giver: roles and sites must be within the giver's. */
function requireWithin(giver: Principal, roles: readonly Role[], sites: readonly string[] | '*', what: string): void {
  const extraRoles = roles.filter((r) => !giver.roles.includes(r));
  if (extraRoles.length > 0) throw new ApiError('GH_FORBIDDEN', `${what} cannot have roles you do not hold: ${extraRoles.join(', ')}`);
  requireSitesWithin(giver, sites, what);
}

/** Sites granted by someone must be within theirs (an admin of some sites cannot grant every site). */
function requireSitesWithin(giver: Principal, sites: readonly string[] | '*', what: string): void {
  if (giver.sites === '*') return;
  if (sites === '*') throw new ApiError('GH_FORBIDDEN', `${what} cannot cover every site: you are granted ${giver.sites.join(', ')}`);
  const extraSites = sites.filter((s) => !giver.sites.includes(s));
  if (extraSites.length > 0) throw new ApiError('GH_FORBIDDEN', `${what} cannot cover sites you are not granted: ${extraSites.join(', ')}`);
}

/** Login, logout, one's own account and tokens; users and grants for admins. */
export function registerAuthRoutes(api: Api, deps: AuthRouteDependencies): void {
  const setSessionCookie = (request: FastifyRequest, reply: FastifyReply, id: string) => {
    reply.setCookie(SESSION_COOKIE, id, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.secureCookies === 'auto' ? request.protocol === 'https' : deps.secureCookies,
      maxAge: deps.sessionMaxHours * 3600,
    });
  };

  api.post(
    '/api/v1/auth/login',
    {
      schema: {
        summary: 'Log in: sets an HttpOnly session cookie and answers with the CSRF token to send on changes',
        tags: ['accounts'],
        body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }).strict(),
        response: { 200: z.object({ user: userOut, csrfToken: z.string() }), 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request, reply) => {
      const username = request.body.username.trim().toLowerCase();
      const address = clientAddress(request);
      await deps.throttle.recordAttempt(username, address);
      const lockedUntil = await deps.throttle.lockedUntil(username, address, 1);
      if (lockedUntil !== undefined) {
        const seconds = Math.max(1, Math.ceil((lockedUntil - Date.now()) / 1000));
        reply.header('retry-after', String(seconds));
        throw new ApiError('GH_LOCKED_OUT', `too many failed logins from this address: try again in ${Math.ceil(seconds / 60)} min, or ask an admin to unlock ${username}`);
      }
      const stored = await deps.users.passwordHash(username);
      const ok = stored ? await verifyPassword(stored.hash, request.body.password) : await verifyAgainstNothing(request.body.password);
      if (!ok || !stored || stored.disabled) {
        // (the attempt is already recorded as a failure)
        await deps.db.transaction((tx) =>
          auditLog.append(tx, { actor: username, site: null, action: 'login.failed', targetType: 'user', targetId: username, details: { address, reason: !stored ? 'unknown user' : stored.disabled && ok ? 'disabled' : 'wrong password' } }),
        );
        throw new ApiError('GH_BAD_CREDENTIALS');
      }
      await deps.throttle.recordSuccess(username, address);
      await deps.users.recordLogin(username);
      // The session and its audit line together, or neither.
      const session = await deps.db.transaction(async (tx) => {
        const made = await deps.sessions.create(username, { address, userAgent: request.headers['user-agent'] }, tx);
        await auditLog.append(tx, { actor: username, site: null, action: 'login', targetType: 'user', targetId: username, details: { address } });
        return made;
      });
      setSessionCookie(request, reply, session.id);
      const user = (await deps.users.get(username))!;
      return { user: publicUser(user), csrfToken: session.csrfToken };
    },
  );

  api.post(
    '/api/v1/auth/logout',
    { schema: { summary: 'Log out: ends this session', tags: ['accounts'], response: { 204: z.null() } } },
    async (request, reply) => {
      const id = request.cookies[SESSION_COOKIE];
      if (id) await deps.sessions.revoke(id);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/api/v1/auth/me',
    {
      schema: {
        summary: `Who is logged in, with the CSRF token to send as ${CSRF_HEADER} on changes`,
        tags: ['accounts'],
        response: { 200: z.object({ user: userOut, csrfToken: z.string().nullable(), via: z.enum(['session', 'token']) }) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return { user: publicUser(principal), csrfToken: principal.csrfToken ?? null, via: principal.kind };
    },
  );

  api.post(
    '/api/v1/auth/password',
    {
      schema: {
        summary: 'Change one\'s own password (ends one\'s other sessions)',
        tags: ['accounts'],
        body: z.object({ currentPassword: z.string().min(1).max(256), newPassword: passwordSchema }).strict(),
        response: { 204: z.null(), 401: errorBodySchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.kind !== 'session') throw new ApiError('GH_FORBIDDEN', 'an API token cannot change a password');
      const stored = await deps.users.passwordHash(principal.username);
      if (!stored || !(await verifyPassword(stored.hash, request.body.currentPassword))) throw new ApiError('GH_BAD_CREDENTIALS', 'the current password is wrong');
      await deps.db.transaction(async (tx) => {
        await deps.users.update(tx, principal.username, { password: request.body.newPassword });
        await auditLog.append(tx, { actor: principal.username, site: null, action: 'user.password', targetType: 'user', targetId: principal.username });
      });
      // The password change ended every session, this one too: give this browser a fresh one.
      const session = await deps.sessions.create(principal.username, { address: clientAddress(request), userAgent: request.headers['user-agent'] });
      setSessionCookie(request, reply, session.id);
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'API tokens: one\'s own (admins: everybody\'s with all=true)',
        tags: ['accounts'],
        querystring: z.object({ all: z.enum(['true', 'false']).default('false') }),
        response: { 200: z.object({ tokens: z.array(tokenOut) }) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const all = request.query.all === 'true' && principal.roles.includes('admin');
      return { tokens: await deps.tokens.list(all ? undefined : principal.username) };
    },
  );

  api.post(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'Create an API token for scripts and integrations, scoped to some of one\'s roles and sites; the token is shown once',
        tags: ['accounts'],
        body: z.object({ name: z.string().trim().min(1).max(128), roles: rolesSchema, sites: sitesSchema, expiresInDays: z.number().int().min(1).max(366).default(90) }).strict(),
        response: { 201: tokenOut.extend({ token: z.string().meta({ description: 'shown this once; stored only as a hash' }) }), 403: errorBodySchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.kind !== 'session') throw new ApiError('GH_FORBIDDEN', 'tokens are created from a logged-in session, not with another token');
      const { name, roles, sites, expiresInDays } = request.body;
      requireWithin(principal, roles, sites, 'a token');
      const created = await deps.db.transaction(async (tx) => {
        const made = await deps.tokens.create(tx, principal.username, { name, roles, sites, expiresAt: Date.now() + expiresInDays * 86_400_000 });
        await auditLog.append(tx, { actor: principal.username, site: null, action: 'token.create', targetType: 'token', targetId: made.stored.id, details: { name, roles, sites, expiresInDays } });
        return made;
      });
      return reply.status(201).send({ ...created.stored, token: created.token });
    },
  );

  api.delete(
    '/api/v1/tokens/:id',
    {
      schema: {
        summary: 'Revoke an API token (one\'s own; admins: any)',
        tags: ['accounts'],
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 204: z.null(), 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const token = await deps.tokens.get(request.params.id);
      if (!token || (token.username !== principal.username && !principal.roles.includes('admin'))) throw new ApiError('GH_NOT_FOUND', `no token ${request.params.id}`);
      await deps.db.transaction(async (tx) => {
        if (await deps.tokens.revoke(tx, token.id)) await auditLog.append(tx, { actor: principal.username, site: null, action: 'token.revoke', targetType: 'token', targetId: token.id, details: { name: token.name, owner: token.username } });
      });
      return reply.status(204).send(null);
    },
  );

  const adminView = async (user: StoredUser) => ({ ...publicUser(user), disabled: user.disabled, lockedUntil: await deps.throttle.accountLockedUntil(user.username), lastLoginAt: user.lastLoginAt, createdAt: user.createdAt });

  api.get(
    '/api/v1/users',
    { schema: { summary: 'Users with their roles, sites and whether they are locked out (an admin of some sites: the users of those sites)', tags: ['accounts'], response: { 200: z.object({ users: z.array(userAdminOut) }) } } },
    async (request) => {
      const admin = principalOf(request);
      const within = (sites: readonly string[] | '*') => admin.sites === '*' || (sites !== '*' && sites.every((s) => admin.sites.includes(s)));
      return { users: await Promise.all((await deps.users.list()).filter((u) => within(u.sites)).map(adminView)) };
    },
  );

  api.post(
    '/api/v1/users',
    {
      schema: {
        summary: 'Create a user',
        tags: ['accounts'],
        body: z.object({ username: usernameSchema, displayName: displayNameSchema.optional(), password: passwordSchema, roles: rolesSchema, sites: sitesSchema }).strict(),
        response: { 201: userAdminOut, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const admin = principalOf(request);
      const actor = admin.username;
      const { password: _password, ...rest } = request.body;
      requireSitesWithin(admin, rest.sites, 'a user you create');
      await deps.db.transaction(async (tx) => {
        if (!(await deps.users.create(tx, request.body))) throw new ApiError('GH_CONFLICT', `there is already a user ${rest.username}`);
        await auditLog.append(tx, { actor, site: null, action: 'user.create', targetType: 'user', targetId: rest.username, details: { displayName: rest.displayName ?? null, roles: rest.roles, sites: rest.sites } });
      });
      return reply.status(201).send(await adminView((await deps.users.get(rest.username))!));
    },
  );

  api.patch(
    '/api/v1/users/:username',
    {
      schema: {
        summary: 'Change a user\'s name, roles, sites, password, or disable them (a new password or disabling ends their sessions)',
        tags: ['accounts'],
        params: z.object({ username: usernameSchema }),
        body: z.object({ displayName: displayNameSchema.nullable().optional(), roles: rolesSchema.optional(), sites: sitesSchema.optional(), disabled: z.boolean().optional(), password: passwordSchema.optional() }).strict(),
        response: { 200: userAdminOut, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const admin = principalOf(request);
      const actor = admin.username;
      const { username } = request.params;
      const changes = request.body;
      await deps.db.transaction(async (tx) => {
        const before = await deps.users.get(username, tx);
        if (!before) throw new ApiError('GH_NOT_FOUND', `no user ${username}`);
        // An admin of some sites manages the users of those sites only, and grants no other site.
        requireSitesWithin(admin, before.sites, `${username}, who`);
        if (changes.sites !== undefined) requireSitesWithin(admin, changes.sites, 'a grant');
        // The last admin who can log in stays one: nobody can lock everybody out of the console.
        if (before.roles.includes('admin') && !before.disabled && (changes.disabled === true || (changes.roles && !changes.roles.includes('admin')))) {
          // Locking the admins' rows makes two admins demoting each other at once wait for one another.
          const admins = await tx.query<{ username: string }>(`SELECT username FROM users WHERE 'admin' = ANY(roles) AND NOT disabled ORDER BY username FOR UPDATE`);
          if (admins.filter((a) => a.username !== username).length === 0) throw new ApiError('GH_CONFLICT', `${username} is the last admin: make another admin first`);
        }
        await deps.users.update(tx, username, changes);
        const { password, ...visible } = changes;
        await auditLog.append(tx, { actor, site: null, action: 'user.update', targetType: 'user', targetId: username, details: { ...visible, ...(password !== undefined ? { password: 'changed' } : {}) } });
      });
      return adminView((await deps.users.get(username))!);
    },
  );

  api.post(
    '/api/v1/users/:username/unlock',
    {
      schema: { summary: 'Lift a user\'s login lockouts', tags: ['accounts'], params: z.object({ username: usernameSchema }), response: { 200: userAdminOut, 404: errorBodySchema } },
    },
    async (request) => {
      const actor = principalOf(request).username;
      const user = await deps.users.get(request.params.username);
      if (!user) throw new ApiError('GH_NOT_FOUND', `no user ${request.params.username}`);
      await deps.throttle.unlock(user.username);
      await deps.db.transaction((tx) => auditLog.append(tx, { actor, site: null, action: 'user.unlock', targetType: 'user', targetId: user.username }));
      return adminView(user);
    },
  );
}
