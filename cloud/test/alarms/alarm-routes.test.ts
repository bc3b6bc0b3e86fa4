import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildApi,
  CommandService,
  createAuthServices,
  createCloudMetrics,
  DeadLetterStore,
  EventStore,
  LiveHub,
  openTimeSeriesStore,
  SiteRegistry,
  type AuthServices,
  type Role,
  type SqlClient,
} from '../../src/index.js';
import { AlarmService, registerAlarmRoutes } from '../../src/alarms/index.js';
import { alarmsOf, ev, GW, migratedPglite, silent, SITE } from './alarm-fixtures.js';

/** A user of `roles` over `sites` and an API token of theirs. */
async function tokenFor(db: SqlClient, auth: AuthServices, username: string, roles: Role[], sites: string[] | '*'): Promise<string> {
  return db.transaction(async (tx) => {
    await auth.users.create(tx, { username, password: 'test-password-1234', roles, sites });
    return (await auth.tokens.create(tx, username, { name: 'test', roles, sites, expiresAt: Date.now() + 3_600_000 })).token;
  });
}

describe('alarm routes', () => {
  let db: SqlClient;
  let app: FastifyInstance;
  let events: EventStore;
  const tokens: Record<string, string> = {};
  const call = (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  beforeAll(async () => {
    db = await migratedPglite();
    events = new EventStore(db);
    const alarms = new AlarmService({ db, config: {}, logger: silent });
    alarms.attach(events);
    const auth = createAuthServices(db);
    tokens.guard = await tokenFor(db, auth, 'guard.li', ['guard'], [SITE]);
    tokens.elsewhere = await tokenFor(db, auth, 'guard.wu', ['guard'], ['other']);
    tokens.engineer = await tokenFor(db, auth, 'eng.zhao', ['engineer'], '*');
    app = await buildApi({
      auth,
      live: new LiveHub({ db, logger: silent }),
      db,
      timeSeries: await openTimeSeriesStore(db),
      registry: new SiteRegistry(db),
      events,
      deadLetters: new DeadLetterStore(db),
      commands: new CommandService({ db, publish: async () => undefined, logger: silent }),
      metrics: createCloudMetrics(),
      logger: silent,
      version: '0.1.0',
      ingestConnected: () => true,
      domainRoutes: [(api) => registerAlarmRoutes(api, { alarms })],
    });
    const t = Date.now() - 60_000;
    await events.write(GW, [ev('door_forced_open', t, { device: 'door-1', point: '1' }), ev('tamper', t + 1000, { device: 'reader-2' })]);
    await events.write({ site: 'other', gateway: 'gw-9' }, [ev('duress', t + 2000, { device: 'panel-9' })]);
  });

  afterAll(async () => {
    await app.close();
    await db.close();
  });

  it('lists the alarms of the caller\'s sites only, with filters', async () => {
    const mine = await call('guard', 'GET', '/api/v1/alarms');
    expect(mine.statusCode).toBe(200);
    expect(mine.json().alarms.map((a: { type: string }) => a.type)).toEqual(['door_forced_open', 'tamper']);
    expect(mine.json().nextCursor).toBeNull();
    expect((await call('guard', 'GET', '/api/v1/alarms?site=other')).statusCode).toBe(403);
    expect((await call('engineer', 'GET', '/api/v1/alarms?state=new,acknowledged&priority=1')).json().alarms.map((a: { type: string }) => a.type)).toEqual(['duress', 'door_forced_open']);
    expect((await call('engineer', 'GET', '/api/v1/alarms?state=closed')).json().alarms).toEqual([]);
    const page = (await call('engineer', 'GET', '/api/v1/alarms?limit=2')).json();
    expect(page.alarms).toHaveLength(2);
    const rest = (await call('engineer', 'GET', `/api/v1/alarms?limit=2&cursor=${page.nextCursor}`)).json();
    expect(rest).toMatchObject({ alarms: [{ type: 'tamper' }], nextCursor: null });
    const bad = await call('engineer', 'GET', '/api/v1/alarms?state=shelved');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^querystring\.state: expected alarm states: new, acknowledged, cleared, closed, open/);
    expect((await call('engineer', 'GET', '/api/v1/alarms?cursor=garbage')).json()).toMatchObject({ code: 'GH_BAD_REQUEST' });
  });

  it('answers one alarm with its history, and 404 for another site\'s as for none', async () => {
    const [forced] = await alarmsOf(db, 'door_forced_open:gw-01:door-1:1');
    const res = await call('guard', 'GET', `/api/v1/alarms/${forced!.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: forced!.id, state: 'new', point: '1', history: [{ action: 'alarm.raise', actor: 'system', toState: 'new' }], notifications: [], recentEvents: [{ type: 'door_forced_open', point: '1' }] });
    const [duress] = await alarmsOf(db, 'duress:gw-9:panel-9:');
    expect((await call('guard', 'GET', `/api/v1/alarms/${duress!.id}`)).json()).toEqual({ code: 'GH_NOT_FOUND', message: `no alarm ${duress!.id}` });
    expect((await call('guard', 'GET', '/api/v1/alarms/424242')).json()).toEqual({ code: 'GH_NOT_FOUND', message: 'no alarm 424242' });
    expect((await call('guard', 'POST', `/api/v1/alarms/${duress!.id}/acknowledge`, { note: 'x', ackType: 'genuine' })).statusCode).toBe(404);
    expect((await alarmsOf(db, 'duress:gw-9:panel-9:'))[0]!.state).toBe('new');
  });

  it('acknowledges, clears and closes as the logged-in user; refuses what the state does not allow', async () => {
    const [tamper] = await alarmsOf(db, 'tamper:gw-01:reader-2:');
    const url = `/api/v1/alarms/${tamper!.id}`;
    const early = await call('guard', 'POST', `${url}/clear`, {});
    expect(early.statusCode).toBe(409);
    expect(early.json()).toEqual({ code: 'GH_BAD_TRANSITION', message: `alarm ${tamper!.id} is new: acknowledge it before clearing it` });
    expect((await call('guard', 'POST', `${url}/acknowledge`, { note: '   ', ackType: 'genuine' })).json()).toMatchObject({ code: 'GH_BAD_REQUEST', message: expect.stringContaining('body.note') });
    expect((await call('guard', 'POST', `${url}/acknowledge`, { note: 'x'.repeat(1001), ackType: 'genuine' })).statusCode).toBe(400);
    expect((await call('guard', 'POST', `${url}/acknowledge`, { note: 'ok', ackType: 'maybe' })).statusCode).toBe(400);
    expect((await call('guard', 'POST', `${url}/acknowledge`, { note: 'ok', ackType: 'genuine', by: 'someone.else' })).statusCode).toBe(400);
    expect((await call('engineer', 'POST', `${url}/acknowledge`, { note: 'ok', ackType: 'genuine' })).json()).toMatchObject({ code: 'GH_FORBIDDEN' });

    const acked = await call('guard', 'POST', `${url}/acknowledge`, { note: ' cover refitted ', ackType: 'genuine' });
    expect(acked.statusCode).toBe(200);
    expect(acked.json()).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'guard.li', ackNote: 'cover refitted', ackType: 'genuine' });
    expect((await call('guard', 'POST', `${url}/clear`)).json()).toMatchObject({ state: 'cleared', clearedBy: 'guard.li' });
    expect((await call('guard', 'POST', `${url}/close`, { note: 'done' })).json()).toMatchObject({ state: 'closed', closedBy: 'guard.li' });
    const history = (await call('guard', 'GET', url)).json().history;
    expect(history.map((h: { action: string; actor: string; note: string | null }) => [h.action, h.actor, h.note])).toEqual([
      ['alarm.raise', 'system', null],
      ['alarm.acknowledge', 'guard.li', 'cover refitted'],
      ['alarm.clear', 'guard.li', null],
      ['alarm.close', 'guard.li', 'done'],
    ]);
  });

  it('documents the alarm routes in the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, { tags?: string[] }>> };
    for (const path of ['/api/v1/alarms', '/api/v1/alarms/{id}', '/api/v1/alarms/{id}/acknowledge', '/api/v1/alarms/{id}/clear', '/api/v1/alarms/{id}/close']) {
      const ops = Object.values(doc.paths[path] ?? {});
      expect(ops.length, path).toBe(1);
      expect(ops[0]!.tags).toEqual(['alarms']);
    }
  });
});
