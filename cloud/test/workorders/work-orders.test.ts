import type { FastifyInstance } from 'fastify';
import jpegJs from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/roles.js';
import { WorkCalendar } from '../../src/detection/work-calendar.js';
import type { SqlClient } from '../../src/storage/sql-client.js';
import { registerWorkOrderRoutes, WorkOrderService } from '../../src/workorders/index.js';
import { silent } from '../alarms/alarm-fixtures.js';
import { openTestDatabase, routeHarness } from '../route-harness.js';
import { seedSites, WO_CONFIG } from './work-order-fixtures.js';

// The work order API on the machine's PostgreSQL: raising by hand and its refusals, the whole lifecycle
// with every refused step, the rating that reopens, the board's filters and pages.
const encodeJpeg = jpegJs.encode;

const FACILITIES: Principal = { kind: 'session', username: 'mgr.sun', displayName: null, roles: ['facilities'], sites: '*' };

describe('work orders over the API (PostgreSQL)', () => {
  let db: SqlClient;
  let close: () => Promise<void>;
  let app: FastifyInstance;
  let northOnly: FastifyInstance;

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase('postgres'));
    await seedSites(db);
    const orders = new WorkOrderService({ db, config: WO_CONFIG, calendar: WorkCalendar.china(), logger: silent });
    app = await routeHarness((api) => registerWorkOrderRoutes(api, { orders }), FACILITIES);
    northOnly = await routeHarness((api) => registerWorkOrderRoutes(api, { orders }), { ...FACILITIES, username: 'north.mgr', sites: ['north'] });
  });

  afterAll(async () => {
    await app?.close();
    await northOnly?.close();
    await close?.();
  });

  const post = (url: string, payload: unknown, on = app) => on.inject({ method: 'POST', url, payload: payload as object });
  const create = async (extra: Record<string, unknown> = {}) => {
    const res = await post('/api/v1/work-orders', { site: 'sunrise', title: 'Lobby light flickers', category: 'electrical', priority: 3, ...extra });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; number: string; state: string; responseDueAt: number; resolutionDueAt: number; slaMode: string; title: string };
  };
  const act = (id: string, action: string, extra: Record<string, unknown> = {}) => post(`/api/v1/work-orders/${id}/actions`, { action, ...extra });

  it('raises an order by hand with its requester, SLA due times and checklist, kept as plain text', async () => {
    const before = Date.now();
    const order = await create({
      title: '<script>alert(1)</script> 3-1502 water leak',
      category: 'plumbing',
      priority: 1,
      asset: 'pump-1',
      building: 'b1',
      floor: '15',
      unit: '1502',
      requesterName: '王女士',
      requesterContact: '138 0000 0000',
      checklist: ['Shut the valve', 'Fix the joint'],
    });
    expect(order.number).toMatch(/^WO-\d{6}$/);
    expect(order.title).toBe('<script>alert(1)</script> 3-1502 water leak');
    expect(order.state).toBe('open');
    // Plumbing counts round the clock; priority 1: 15 minutes to respond, 4 hours to resolve.
    expect(order.slaMode).toBe('24x7');
    expect(order.responseDueAt - before).toBeGreaterThanOrEqual(15 * 60_000 - 5_000);
    expect(order.responseDueAt - before).toBeLessThanOrEqual(15 * 60_000 + 5_000);
    expect(order.resolutionDueAt - order.responseDueAt).toBe(225 * 60_000);
    const detail = (await app.inject({ url: `/api/v1/work-orders/${order.number}` })).json() as { requesterName: string; checklist: { text: string; done: boolean }[]; history: { kind: string; note: string }[] };
    expect(detail.requesterName).toBe('王女士');
    expect(detail.checklist.map((c) => [c.text, c.done])).toEqual([['Shut the valve', false], ['Fix the joint', false]]);
    expect(detail.history.map((h) => [h.kind, h.note])).toEqual([['created', 'reported by 王女士']]);
  });

  it('refuses unknown assets, buildings, teams and users, a due date in the past, and a site not granted, saying which', async () => {
    const refused = async (extra: Record<string, unknown>, status: number, message: RegExp, on = app) => {
      const res = await post('/api/v1/work-orders', { site: 'sunrise', title: 'x', category: 'other', priority: 4, ...extra }, on);
      expect([res.statusCode, (res.json() as { message: string }).message]).toEqual([status, expect.stringMatching(message)]);
    };
    await refused({ asset: 'lift-9' }, 400, /unknown asset "lift-9" on site sunrise/);
    await refused({ building: 'b7' }, 400, /unknown building "b7"/);
    await refused({ team: 'painters' }, 400, /unknown team "painters" \(teams: maintenance, north-only\)/);
    await refused({ team: 'north-only' }, 400, /team "north-only" does not work on site sunrise/);
    await refused({ assignee: 'nobody' }, 400, /unknown user "nobody"/);
    await refused({ assignee: 'outsider' }, 400, /user "outsider" is not granted site sunrise/);
    await refused({ team: 'maintenance', assignee: 'outsider' }, 400, /not granted site sunrise/);
    await refused({ resolutionDueAt: Date.now() - 60_000 }, 400, /resolutionDueAt .* is in the past/);
    await refused({ site: 'atlantis' }, 400, /unknown site "atlantis"/);
    await refused({ category: 'gardening' }, 400, /category/);
    await refused({ title: 'x'.repeat(201) }, 400, /at most 200 characters/);
    await refused({ surprise: 1 }, 400, /surprise/);
    await refused({}, 403, /site sunrise is not granted to you/, northOnly);
    // Nothing was stored by any of them.
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM work_orders WHERE title = 'x'`);
    expect(row!.n).toBe(0);
  });

  it('goes open → assigned → in progress ↔ on hold → completed → closed, refusing every step out of turn with 409', async () => {
    const order = await create();
    const refuse = async (action: string, extra: Record<string, unknown> = {}) => {
      const res = await act(order.id, action, extra);
      expect([res.statusCode, (res.json() as { code: string }).code], `${action}: ${res.body}`).toEqual([409, 'GH_BAD_TRANSITION']);
      return (res.json() as { message: string }).message;
    };
    const ok = async (action: string, state: string, extra: Record<string, unknown> = {}) => {
      const res = await act(order.id, action, extra);
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as { state: string }).state).toBe(state);
      return res.json() as Record<string, unknown>;
    };
    expect(await refuse('start')).toMatch(/cannot start an order that is open: only from assigned/);
    for (const action of ['hold', 'resume', 'complete', 'close', 'reopen']) await refuse(action, { note: 'n', reason: 'r' });
    // Assigning needs someone who may work on the site and is in the team.
    expect((await act(order.id, 'assign', {})).statusCode).toBe(400);
    expect((await act(order.id, 'assign', { assignee: 'outsider' })).json()).toMatchObject({ message: expect.stringMatching(/not granted site sunrise/) });
    await ok('assign', 'assigned', { assignee: 'tech.zhao', team: 'maintenance' });
    for (const action of ['hold', 'resume', 'complete', 'close', 'reopen']) await refuse(action, { note: 'n', reason: 'r' });
    const started = await ok('start', 'in_progress');
    expect(started.respondedAt).toEqual(expect.any(Number));
    expect(started.responseSla).toBe('met');
    for (const action of ['start', 'resume', 'close', 'reopen']) await refuse(action, { note: 'n' });
    expect((await act(order.id, 'hold', {})).json()).toMatchObject({ code: 'GH_BAD_REQUEST', message: expect.stringMatching(/needs a reason/) });
    const held = await ok('hold', 'on_hold', { reason: 'waiting for a ballast' });
    expect(held.holdReason).toBe('waiting for a ballast');
    for (const action of ['start', 'hold', 'complete', 'close', 'reopen']) await refuse(action, { note: 'n', reason: 'r' });
    // Re-assigning keeps the state.
    await ok('assign', 'on_hold', { assignee: 'tech.qian' });
    await ok('resume', 'in_progress');
    await ok('complete', 'completed');
    for (const action of ['assign', 'start', 'hold', 'resume', 'complete', 'cancel']) await refuse(action, { note: 'n', reason: 'r', assignee: 'tech.zhao' });
    const closed = await ok('close', 'closed');
    expect(closed.closedAt).toEqual(expect.any(Number));
    for (const action of ['assign', 'start', 'hold', 'resume', 'complete', 'close', 'cancel']) await refuse(action, { note: 'n', reason: 'r', assignee: 'tech.zhao' });
    expect((await act(order.id, 'reopen', {})).json()).toMatchObject({ message: expect.stringMatching(/needs a note/) });
    await ok('reopen', 'assigned', { note: 'flickers again' });
    // Every step is in the history, who and from which state to which.
    const history = ((await app.inject({ url: `/api/v1/work-orders/${order.id}` })).json() as { history: { actor: string; kind: string; fromState: string | null; toState: string | null }[] }).history;
    expect(history.map((h) => `${h.kind}:${h.fromState ?? ''}>${h.toState ?? ''}`)).toEqual([
      'created:>open', 'assign:open>assigned', 'start:assigned>in_progress', 'hold:in_progress>on_hold', 'assign:on_hold>on_hold',
      'resume:on_hold>in_progress', 'complete:in_progress>completed', 'close:completed>closed', 'reopen:closed>assigned',
    ]);
    expect(new Set(history.slice(1).map((h) => h.actor))).toEqual(new Set(['mgr.sun']));
    const [audited] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE target_type = 'work_order' AND target_id = $1`, [order.id]);
    expect(audited!.n).toBe(9);
  });

  it('cancels with a note only, and never from completed', async () => {
    const order = await create();
    expect((await act(order.id, 'cancel', {})).json()).toMatchObject({ message: expect.stringMatching(/needs a note/) });
    expect((await act(order.id, 'cancel', { note: 'duplicate of another call' })).json()).toMatchObject({ state: 'cancelled', resolutionSla: expect.stringMatching(/met|breached/) });
    expect((await act(order.id, 'reopen', { note: 'x' })).statusCode).toBe(409);
  });

  it('takes the requester’s rating on completion: 4 keeps it completed, 2 reopens it to its assignee', async () => {
    const order = await create();
    const rate = (rating: number, comment?: string) => post(`/api/v1/work-orders/${order.id}/rating`, { rating, ...(comment ? { comment } : {}) });
    expect((await rate(5)).json()).toMatchObject({ code: 'GH_BAD_TRANSITION', message: expect.stringMatching(/only a completed order is rated/) });
    await act(order.id, 'assign', { assignee: 'tech.zhao' });
    await act(order.id, 'start');
    await act(order.id, 'complete');
    expect((await rate(6)).statusCode).toBe(400);
    expect((await rate(4, 'quick')).json()).toMatchObject({ state: 'completed', rating: 4, ratingComment: 'quick' });
    const reopened = (await rate(2, '还是不亮')).json() as { state: string; completedAt: number | null; assignee: string };
    expect(reopened).toMatchObject({ state: 'assigned', completedAt: null, assignee: 'tech.zhao' });
    const history = ((await app.inject({ url: `/api/v1/work-orders/${order.id}` })).json() as { history: { kind: string; note: string | null }[] }).history;
    expect(history.slice(-3).map((h) => [h.kind, h.note])).toEqual([
      ['rating', 'rated 4/5: quick'],
      ['rating', 'rated 2/5: 还是不亮'],
      ['reopen', 'reopened: the requester rated it 2/5'],
    ]);
  });

  it('records comments, checklist ticks, parts, labour and cost; refuses changes once closed', async () => {
    const order = await create({ checklist: ['Replace the tube'] });
    expect((await post(`/api/v1/work-orders/${order.id}/comments`, { text: 'tube ordered' })).statusCode).toBe(200);
    const patch = (payload: unknown) => app.inject({ method: 'PATCH', url: `/api/v1/work-orders/${order.id}`, payload: payload as object });
    const changed = (await patch({ checklistDone: [{ index: 0, done: true }], checklistAdd: ['Test the switch'], parts: [{ name: 'T8 tube 1.2 m', quantity: 2, costCny: 36 }], labourMinutes: 40, costCny: 96.5 })).json() as Record<string, unknown>;
    expect(changed).toMatchObject({ labourMinutes: 40, costCny: 96.5, parts: [{ name: 'T8 tube 1.2 m', quantity: 2, costCny: 36 }] });
    expect(changed.checklist).toEqual([
      { text: 'Replace the tube', done: true, doneBy: 'mgr.sun', doneAt: expect.any(Number) },
      { text: 'Test the switch', done: false, doneBy: null, doneAt: null },
    ]);
    expect((await patch({ checklistDone: [{ index: 5, done: true }] })).json()).toMatchObject({ message: 'the checklist has no item 5 (it has 2)' });
    await act(order.id, 'cancel', { note: 'done by the tenant' });
    expect((await patch({ labourMinutes: 1 })).json()).toMatchObject({ code: 'GH_BAD_TRANSITION' });
  });

  it('lists the board most urgent first with counts per state, filters, pages, and hides other sites', async () => {
    await create({ priority: 1, title: 'urgent one', category: 'lift' });
    const all = (await app.inject({ url: '/api/v1/work-orders?site=sunrise&limit=500' })).json() as { orders: { priority: number; title: string; state: string }[]; counts: Record<string, number> };
    expect(all.orders.map((o) => o.priority)).toEqual([...all.orders.map((o) => o.priority)].sort((a, b) => a - b));
    const byState: Record<string, number> = {};
    for (const o of all.orders) byState[o.state] = (byState[o.state] ?? 0) + 1;
    for (const [state, n] of Object.entries(all.counts)) expect(n, state).toBe(byState[state] ?? 0);
    const lifts = (await app.inject({ url: '/api/v1/work-orders?category=lift&state=active' })).json() as { orders: { title: string }[]; counts: Record<string, number> };
    expect(lifts.orders.map((o) => o.title)).toEqual(['urgent one']);
    // Pages of two cover the whole list, once each.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await app.inject({ url: `/api/v1/work-orders?site=sunrise&limit=2${cursor ? `&cursor=${cursor}` : ''}` })).json() as { orders: { id: string }[]; nextCursor: string | null };
      seen.push(...page.orders.map((o) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual((all.orders as unknown as { id: string }[]).map((o) => o.id));
    expect((await app.inject({ url: '/api/v1/work-orders?state=lost' })).json()).toMatchObject({ code: 'GH_BAD_REQUEST', message: expect.stringMatching(/got "lost"/) });
    // Someone granted only the north site sees none of them, and an order of sunrise is "not found".
    const north = (await northOnly.inject({ url: '/api/v1/work-orders' })).json() as { orders: unknown[] };
    expect(north.orders).toEqual([]);
    const id = (all.orders as unknown as { id: string }[])[0]!.id;
    expect((await northOnly.inject({ url: `/api/v1/work-orders/${id}` })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/work-orders/WO-abc' })).statusCode).toBe(404);
  });

  it('takes photos by their bytes (JPEG, PNG, WebP), serves them as images only, and refuses anything else, saying what it is', async () => {
    const order = await create();
    const jpeg = Buffer.from(encodeJpeg({ data: Buffer.alloc(16 * 16 * 4, 200), width: 16, height: 16 }, 80).data);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32)]);
    const upload = (data: Buffer, extra: Record<string, unknown> = {}) =>
      post(`/api/v1/work-orders/${order.id}/photos`, { stage: 'after', fileName: 'after.jpg', dataBase64: data.toString('base64'), ...extra });
    const added = await upload(jpeg);
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toMatchObject({ stage: 'after', fileName: 'after.jpg', contentType: 'image/jpeg', size: jpeg.length, createdBy: 'mgr.sun' });
    // Named .jpg but a PNG: stored as what it is.
    expect((await upload(png, { stage: 'before' })).json()).toMatchObject({ contentType: 'image/png', stage: 'before' });
    const served = await app.inject({ url: (added.json() as { url: string }).url });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/jpeg');
    expect(served.headers['x-content-type-options']).toBe('nosniff');
    expect(served.headers['content-security-policy']).toContain("default-src 'none'");
    expect(Buffer.compare(served.rawPayload, jpeg)).toBe(0);

    const refused = async (data: Buffer | string, message: RegExp, extra: Record<string, unknown> = {}) => {
      const res = typeof data === 'string' ? await post(`/api/v1/work-orders/${order.id}/photos`, { stage: 'after', fileName: 'x.jpg', dataBase64: data, ...extra }) : await upload(data, extra);
      expect([res.statusCode, (res.json() as { message: string }).message]).toEqual([400, expect.stringMatching(message)]);
    };
    await refused(Buffer.from('<!DOCTYPE html><script>alert(1)</script>'), /not a JPEG, PNG or WebP image \(it starts like HTML\)/);
    await refused(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), /starts like SVG/);
    await refused(Buffer.from('%PDF-1.7'), /starts like a PDF/);
    await refused(Buffer.concat([jpeg.subarray(0, 3), Buffer.alloc(5 * 1024 * 1024)]), /at most 5 MiB/);
    await refused('not base64!', /expected the photo as base64/);
    await refused(jpeg, /stage/, { stage: 'during' });
    const history = ((await app.inject({ url: `/api/v1/work-orders/${order.id}` })).json() as { photos: unknown[]; history: { kind: string; note: string }[] });
    expect(history.photos).toHaveLength(2);
    expect(history.history.filter((h) => h.kind === 'photo').map((h) => h.note)).toEqual(['after: after.jpg', 'before: after.jpg']);
    await act(order.id, 'cancel', { note: 'tenant fixed it' });
    expect((await upload(jpeg)).json()).toMatchObject({ code: 'GH_BAD_TRANSITION' });
    expect((await app.inject({ url: `/api/v1/work-orders/${order.id}/photos/999` })).statusCode).toBe(404);
  });

  it('gives MTTA, MTTR and SLA compliance, per month and category, per site and team', async () => {
    // A fresh period: orders raised from now on; two started and completed, one left late.
    const from = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    const a = await create({ category: 'hvac', team: 'maintenance', priority: 4 });
    const b = await create({ category: 'hvac', team: 'maintenance', priority: 4 });
    const c = await create({ category: 'cleaning', priority: 4 });
    for (const order of [a, b]) {
      await act(order.id, 'assign', { assignee: 'tech.zhao' });
      await act(order.id, 'start');
      await act(order.id, 'complete');
    }
    // c is a day overdue (its clocks set back as if raised long ago).
    await db.execute(`UPDATE work_orders SET created_at = created_at - interval '3 days', response_due_at = now() - interval '2 days', resolution_due_at = now() - interval '1 day' WHERE id = $1`, [c.id]);
    const figures = (await app.inject({ url: `/api/v1/work-order-figures?site=sunrise&from=${from - 4 * 86_400_000}` })).json() as Record<string, unknown> & {
      byMonth: { category: string; orders: number }[];
      byTeam: { team: string | null; orders: number; resolutionCompliance: number | null }[];
    };
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM work_orders WHERE site = 'sunrise' AND created_at >= to_timestamp($1 / 1000.0)`, [from - 4 * 86_400_000]);
    expect(figures.orders).toBe(row!.n);
    const mine = (await app.inject({ url: `/api/v1/work-order-figures?site=sunrise&from=${from}` })).json() as Record<string, number | null> & { byTeam: { team: string | null; orders: number; resolutionCompliance: number | null }[]; byMonth: { category: string; orders: number }[] };
    expect(mine).toMatchObject({ orders: 2, responseCompliance: 1, resolutionCompliance: 1 });
    expect(mine.mttaMinutes).toBeGreaterThanOrEqual(0);
    expect(mine.mttaMinutes).toBeLessThan(1);
    expect(mine.byTeam).toEqual([expect.objectContaining({ team: 'maintenance', orders: 2, resolutionCompliance: 1 })]);
    expect(mine.byMonth.map((m) => [m.category, m.orders])).toEqual([['hvac', 2]]);
    // Over the longer period the late cleaning order counts against compliance.
    expect(figures.byMonth.find((m) => m.category === 'cleaning')?.orders).toBeGreaterThanOrEqual(1);
    const noTeam = figures.byTeam.find((t) => t.team === null)!;
    expect(noTeam.resolutionCompliance).toBeLessThan(1);
    expect(figures.overdueNow).toBeGreaterThanOrEqual(1);
    expect((await app.inject({ url: '/api/v1/work-order-figures?from=2026-02-30x' })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/v1/work-order-figures?from=${from}&to=${from - 1}` })).json()).toMatchObject({ code: 'GH_BAD_TIME_RANGE' });
  });

  it('lets one of two cloud instances win a race on the same order: one step taken, the other refused, history exact', async () => {
    const order = await create({ title: 'Race: corridor light', assignee: 'tech.zhao', team: 'maintenance' });
    const [a, b] = [0, 1].map(() => new WorkOrderService({ db, config: WO_CONFIG, calendar: WorkCalendar.china(), logger: silent }));
    for (let round = 0; round < 5; round++) {
      const fresh = await create({ title: `Race ${round}`, assignee: 'tech.zhao', team: 'maintenance' });
      const outcomes = await Promise.allSettled([a!.act(fresh.id, 'start', 'tech.zhao', {}), b!.act(fresh.id, 'start', 'tech.qian', {})]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect((refused.reason as Error).message).toBe(`order ${fresh.number}: cannot start an order that is in progress: only from assigned`);
      const history = (await app.inject({ url: `/api/v1/work-orders/${fresh.id}` })).json() as { history: { kind: string }[] };
      expect(history.history.filter((h) => h.kind === 'start')).toHaveLength(1);
    }
    // Two ratings at once on a completed order: one is recorded, the order reopened once.
    await a!.act(order.id, 'start', 'tech.zhao', {});
    await a!.act(order.id, 'complete', 'tech.zhao', {});
    const ratings = await Promise.allSettled([a!.rate(order.id, 'mgr.sun', 2, 'Still flickers'), b!.rate(order.id, 'mgr.sun', 1, 'Dark now')]);
    expect(ratings.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const detail = (await app.inject({ url: `/api/v1/work-orders/${order.id}` })).json() as { state: string; history: { kind: string }[] };
    expect(detail.state).toBe('assigned');
    expect(detail.history.filter((h) => h.kind === 'rating' || h.kind === 'reopen').length).toBeLessThanOrEqual(2);
    expect(detail.history.filter((h) => h.kind === 'reopen')).toHaveLength(1);
  });
});
