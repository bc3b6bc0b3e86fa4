import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signatureValid, webhookReceiver } from '../webhook-receiver.js';
import type { SmtpConfig } from '../../src/alarms/alarm-config.js';
import { cloudConfigSchema } from '../../src/config.js';
import { WorkCalendar } from '../../src/detection/work-calendar.js';
import { migrate } from '../../src/storage/migrations.js';
import { createPostgresClient, type SqlClient } from '../../src/storage/sql-client.js';
import { WorkOrderJobs, WorkOrderService, type WorkOrdersConfigInput } from '../../src/workorders/index.js';
import { notificationTexts, workOrderMail, type WorkOrderNotification } from '../../src/workorders/notification-texts.js';
import { WorkOrderNotifier } from '../../src/workorders/work-order-notifier.js';
import { createTestDatabase } from '../../../test/support/real-services.js';
import { silent, TestClock } from '../alarms/alarm-fixtures.js';
import { openTestDatabase } from '../route-harness.js';
import { seedSites } from './work-order-fixtures.js';

// Teams are told of new orders, assignments and breached deadlines by webhook (signed) and e-mail, on
// the machine's PostgreSQL with a real HTTP receiver and a real SMTP server: each exactly once, even
// with two notifiers on one database and across restarts.

const SECRET_A = 'maintenance-webhook-secret-a';
const SECRET_B = 'maintenance-webhook-secret-b';
const MINUTE = 60_000;

interface Mail {
  to: string[];
  headers: string[];
  subject: string;
  text: string;
}

/** A single-part text e-mail as sent: its header lines (unfolded), decoded subject and decoded body. */
function parseMail(raw: string, to: string[]): Mail {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n');
  const header = (name: string) => headers.find((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim() ?? '';
  const words = (value: string) =>
    value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_m, enc: string, data: string) =>
      enc.toLowerCase() === 'b' ? Buffer.from(data, 'base64').toString('utf8') : quotedPrintable(data.replace(/_/g, ' ')),
    );
  const body = raw.slice(split + 4);
  const encoding = header('content-transfer-encoding').toLowerCase();
  const text = encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : encoding === 'quoted-printable' ? quotedPrintable(body.replace(/=\r\n/g, '')) : body;
  return { to, headers, subject: words(header('subject')).trim(), text: text.replace(/\r\n/g, '\n') };
}

function quotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('work-order notifications (PostgreSQL)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: SqlClient;
  let other: SqlClient;
  let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
  let smtp: SMTPServer;
  let smtpConfig: SmtpConfig;
  const mails: Mail[] = [];
  let flakyFailures = 0;
  const clock = new TestClock(Date.now());
  let config: WorkOrdersConfigInput;
  let orders: WorkOrderService;
  const notifiers: WorkOrderNotifier[] = [];

  const notifier = (on: SqlClient = db) => {
    const made = new WorkOrderNotifier({ db: on, config, smtp: smtpConfig, logger: silent, now: clock.now });
    notifiers.push(made);
    return made;
  };

  beforeAll(async () => {
    database = await createTestDatabase('gh_wo_notify');
    db = createPostgresClient({ connectionString: database.url });
    // A second cloud instance: its own connections to the same database.
    other = createPostgresClient({ connectionString: database.url });
    await migrate(db);
    await seedSites(db);
    receiver = await webhookReceiver((path) => (path === '/flaky' && flakyFailures-- > 0 ? 500 : 204));
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push(parseMail(Buffer.concat(chunks).toString('utf8'), session.envelope.rcptTo.map((r) => r.address)));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    smtpConfig = { host: '127.0.0.1', port: (smtp.server.address() as AddressInfo).port, secure: false, from: 'Gatehouse <orders@example.com>' };
    config = {
      language: 'en',
      teams: [
        {
          id: 'maintenance',
          name: 'Maintenance crew',
          members: ['tech.zhao', 'tech.qian'],
          webhooks: [
            { url: `${receiver.url}/maintenance/a?token=abc`, secret: SECRET_A },
            { url: `${receiver.url}/maintenance/b`, secret: SECRET_B },
          ],
          email: ['maintenance@example.com'],
        },
        { id: 'flaky', name: 'Flaky receiver', webhooks: [{ url: `${receiver.url}/flaky`, secret: SECRET_A }] },
        { id: 'quiet', name: 'No channels' },
      ],
    };
    orders = new WorkOrderService({ db, config, calendar: WorkCalendar.china(), logger: silent, now: clock.now });
  });

  beforeEach(async () => {
    await db.execute('TRUNCATE work_orders CASCADE');
    receiver.hits.length = 0;
    mails.length = 0;
    flakyFailures = 0;
    clock.t = Date.now();
  });

  afterAll(async () => {
    for (const n of notifiers) n.close();
    await new Promise<void>((resolve) => receiver?.server.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    await other?.close();
    await db?.close();
    await database?.drop();
  });

  const hitsAt = (prefix: string) => receiver.hits.filter((h) => h.path.startsWith(prefix));
  const bodies = (prefix: string) => hitsAt(prefix).map((h) => JSON.parse(h.body) as WorkOrderNotification);
  const create = (extra: Partial<Parameters<WorkOrderService['create']>[0]> = {}) =>
    orders.create({ site: 'sunrise', title: 'Lobby light flickers', category: 'electrical', priority: 3, team: 'maintenance', ...extra }, 'mgr.sun');
  const idle = { breached: 0, queued: 0, sent: 0, retrying: 0, failed: 0, cancelled: 0 };
  const history = (id: string) => db.query<{ kind: string; actor: string; note: string | null }>('SELECT kind, actor, note FROM work_order_events WHERE order_id = $1 ORDER BY id', [id]);
  const messages = () =>
    db.query<{ event: string; channel: string; target: string; status: string; attempts: number; lastError: string | null; next: number }>(
      `SELECT n.event, w.channel, w.target, w.status, w.attempts, w.last_error AS "lastError", (extract(epoch from w.next_attempt_at) * 1000)::float8 AS next
         FROM work_order_notifications w JOIN work_order_notices n ON n.id = w.notice_id ORDER BY w.id`,
    );

  it('tells the team of an order raised by hand: one signed POST per webhook and one e-mail, never again', async () => {
    const order = await create({ title: '<script>alert(1)</script> lobby\r\nBcc: someone@evil.example', description: 'Flickers at night <b>only</b>' });
    const n = notifier();
    expect(await n.run()).toEqual({ ...idle, queued: 3, sent: 3 });
    expect(await n.run()).toEqual(idle);

    expect(hitsAt('/maintenance/a')).toHaveLength(1);
    expect(hitsAt('/maintenance/b')).toHaveLength(1);
    const [a] = hitsAt('/maintenance/a');
    const [b] = hitsAt('/maintenance/b');
    expect(a!.path).toBe('/maintenance/a?token=abc');
    expect(a!.headers['content-type']).toBe('application/json');
    expect(a!.headers['x-gatehouse-timestamp']).toBe(String(clock.t));
    // Each webhook is signed with its own secret.
    expect([signatureValid(a!, SECRET_A), signatureValid(b!, SECRET_B), signatureValid(b!, SECRET_A)]).toEqual([true, true, false]);
    expect(signatureValid({ ...a!, body: a!.body.replace('"created"', '"assigned"') }, SECRET_A)).toBe(false);
    const body = JSON.parse(a!.body) as WorkOrderNotification;
    expect(body).toEqual({
      event: 'created',
      at: expect.any(Number),
      assignee: null,
      sentAt: clock.t,
      order: expect.objectContaining({
        id: order.id,
        number: order.number,
        title: '<script>alert(1)</script> lobby\r\nBcc: someone@evil.example',
        site: 'sunrise',
        category: 'electrical',
        priority: 3,
        state: 'open',
        origin: 'manual',
        team: 'maintenance',
        assignee: null,
        responseDueAt: order.responseDueAt,
        resolutionDueAt: order.resolutionDueAt,
        timeZone: 'Asia/Shanghai',
      }),
    });
    // Neither the evidence nor the requester's contact travel to a webhook.
    expect(Object.keys(body.order)).not.toContain('evidence');
    expect(Object.keys(body.order)).not.toContain('requesterContact');

    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail!.to).toEqual(['maintenance@example.com']);
    // The title's line break did not become a header of its own.
    expect(mail!.headers.filter((h) => /^bcc:/i.test(h))).toEqual([]);
    expect(mail!.subject).toBe(`[${order.number}] New work order: <script>alert(1)</script> lobby Bcc: someone@evil.example`);
    expect(mail!.text).toContain(`New work order ${order.number}: <script>alert(1)</script> lobby Bcc: someone@evil.example`);
    expect(mail!.text).toContain('Team: Maintenance crew');
    expect(mail!.text).toContain('Category: electrical');
    expect(mail!.text).toContain('Flickers at night <b>only</b>');
    expect(mail!.headers.find((h) => /^content-type:/i.test(h))).toMatch(/text\/plain/);
    expect(await messages()).toEqual([
      expect.objectContaining({ event: 'created', channel: 'webhook', status: 'sent', attempts: 1, lastError: null }),
      expect.objectContaining({ event: 'created', channel: 'webhook', status: 'sent', attempts: 1, lastError: null }),
      expect.objectContaining({ event: 'created', channel: 'email', target: 'maintenance@example.com', status: 'sent', attempts: 1 }),
    ]);
  });

  it('tells the team of an order the raiser (or a plan) raises, in the transaction that raised it', async () => {
    const raised = await db.transaction((tx) =>
      orders.raise(tx, { site: 'sunrise', origin: 'fault', sourceKey: 'fault:reader-3:device_offline', title: 'Device offline: reader-3', category: 'security', priority: 2, team: 'maintenance', description: 'offline since 08:00', evidence: null }, 'alarm:1:1', clock.t),
    );
    expect(raised).toMatchObject({ created: true });
    // An occurrence counted on the same order tells nobody.
    await db.transaction((tx) => orders.raise(tx, { site: 'sunrise', origin: 'fault', sourceKey: 'fault:reader-3:device_offline', title: 'x', category: 'security', priority: 2, team: 'maintenance', description: 'again', evidence: null }, 'alarm:1:2', clock.t));
    expect(await notifier().run()).toEqual({ ...idle, queued: 3, sent: 3 });
    expect(bodies('/maintenance/a').map((m) => [m.event, m.order.origin, m.order.title])).toEqual([['created', 'fault', 'Device offline: reader-3']]);
    expect(hitsAt('/maintenance/b')).toHaveLength(1);
    expect(mails).toHaveLength(1);
  });

  it('tells of each assignment with the assignee, once; an order raised already assigned is told of once, as created', async () => {
    const order = await create();
    const n = notifier();
    await n.run();
    receiver.hits.length = 0;
    mails.length = 0;

    await orders.act(order.id, 'assign', 'mgr.sun', { assignee: 'tech.zhao' });
    expect(await n.run()).toEqual({ ...idle, queued: 3, sent: 3 });
    expect(await n.run()).toEqual(idle);
    expect(hitsAt('/maintenance/a')).toHaveLength(1);
    expect(hitsAt('/maintenance/b')).toHaveLength(1);
    expect(bodies('/maintenance/a')[0]).toMatchObject({ event: 'assigned', assignee: 'tech.zhao', order: { state: 'assigned', assignee: 'tech.zhao' } });
    expect(mails.map((m) => m.subject)).toEqual([`[${order.number}] Work order assigned → tech.zhao: Lobby light flickers`]);
    expect(mails[0]!.text).toContain('Assignee: tech.zhao');

    await orders.act(order.id, 'assign', 'mgr.sun', { assignee: 'tech.qian' });
    expect(await n.run()).toEqual({ ...idle, queued: 3, sent: 3 });
    expect(bodies('/maintenance/a').map((m) => [m.event, m.assignee])).toEqual([['assigned', 'tech.zhao'], ['assigned', 'tech.qian']]);
    // Starting, holding or completing tells nobody.
    await orders.act(order.id, 'start', 'tech.qian', {});
    await orders.act(order.id, 'complete', 'tech.qian', {});
    expect(await n.run()).toEqual(idle);

    receiver.hits.length = 0;
    const assigned = await create({ assignee: 'tech.zhao' });
    expect(await n.run()).toEqual({ ...idle, queued: 3, sent: 3 });
    expect(bodies('/maintenance/a')).toEqual([expect.objectContaining({ event: 'created', assignee: 'tech.zhao', order: expect.objectContaining({ id: assigned.id, state: 'assigned' }) })]);
    expect(hitsAt('/maintenance/b')).toHaveLength(1);
  });

  it('tells of each breached deadline exactly once, with two notifiers running at the same time, and notes it on the order', async () => {
    // Plumbing counts round the clock; priority 1: 15 minutes to respond, 4 hours to resolve.
    const late = await create({ title: 'Burst pipe', category: 'plumbing', priority: 1 });
    const started = await create({ title: 'Dripping tap', category: 'plumbing', priority: 1, assignee: 'tech.zhao' });
    const quiet = await create({ title: 'Quiet team', category: 'plumbing', priority: 1, team: 'quiet' });
    const teamless = await create({ title: 'No team', category: 'plumbing', priority: 1, team: undefined });
    const done = await create({ title: 'Fixed in time', category: 'plumbing', priority: 1, assignee: 'tech.qian' });
    await orders.act(started.id, 'start', 'tech.zhao', {});
    await orders.act(done.id, 'start', 'tech.qian', {});
    await orders.act(done.id, 'complete', 'tech.qian', {});
    const a = notifier();
    const b = notifier(other);
    await a.run();
    expect(hitsAt('/maintenance/a')).toHaveLength(3);
    receiver.hits.length = 0;
    mails.length = 0;

    const together = async (rounds: number) => {
      const results = [];
      for (let i = 0; i < rounds; i++) results.push(...(await Promise.all([a.run(), b.run()])));
      return results.reduce((sum, r) => ({ breached: sum.breached + r.breached, sent: sum.sent + r.sent }), { breached: 0, sent: 0 });
    };
    clock.advance(14 * MINUTE);
    expect(await together(2)).toEqual({ breached: 0, sent: 0 });

    clock.advance(2 * MINUTE);
    // The response deadline: the untouched orders (and the other teams' and the teamless one), not the started or completed ones.
    expect(await together(3)).toEqual({ breached: 3, sent: 3 });
    expect(bodies('/maintenance/a').map((m) => [m.event, m.order.number])).toEqual([['response_breached', late.number]]);
    expect(bodies('/maintenance/b').map((m) => [m.event, m.order.number])).toEqual([['response_breached', late.number]]);
    expect(bodies('/maintenance/a')[0]!.order.responseSla).toBe('breached');
    expect(hitsAt('/maintenance/b').every((h) => signatureValid(h, SECRET_B))).toBe(true);
    expect(mails.map((m) => m.subject)).toEqual([`[${late.number}] Work order response overdue: Burst pipe`]);
    expect(mails[0]!.text).toContain('The response deadline has passed and nobody has started it.');

    clock.advance(4 * 60 * MINUTE);
    // The resolution deadline: every order not completed, the started one too.
    expect(await together(3)).toEqual({ breached: 4, sent: 6 });
    expect(bodies('/maintenance/a').map((m) => [m.event, m.order.number]).sort()).toEqual(
      [['response_breached', late.number], ['resolution_breached', late.number], ['resolution_breached', started.number]].sort(),
    );
    expect(hitsAt('/maintenance/b')).toHaveLength(3);
    expect(mails).toHaveLength(3);

    clock.advance(3 * 24 * 60 * MINUTE);
    expect(await together(3)).toEqual({ breached: 0, sent: 0 });
    expect(hitsAt('/maintenance/a')).toHaveLength(3);

    const breachLines = async (id: string) => (await history(id)).filter((h) => h.kind.endsWith('_breached'));
    const due = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect(await breachLines(late.id)).toEqual([
      { kind: 'response_breached', actor: 'system', note: `response deadline breached: due ${due(late.responseDueAt)}` },
      { kind: 'resolution_breached', actor: 'system', note: `resolution deadline breached: due ${due(late.resolutionDueAt)}` },
    ]);
    expect((await breachLines(started.id)).map((h) => h.kind)).toEqual(['resolution_breached']);
    expect((await breachLines(quiet.id)).map((h) => h.kind)).toEqual(['response_breached', 'resolution_breached']);
    expect((await breachLines(teamless.id)).map((h) => h.kind)).toEqual(['response_breached', 'resolution_breached']);
    expect(await breachLines(done.id)).toEqual([]);
    // Every message was claimed and sent once.
    expect((await messages()).filter((m) => m.event.endsWith('_breached')).map((m) => [m.status, m.attempts])).toEqual(Array(9).fill(['sent', 1]));
  });

  it('retries a webhook that fails, with backoff, until it succeeds', async () => {
    flakyFailures = 2;
    const order = await create({ team: 'flaky' });
    const n = notifier();
    expect(await n.run()).toEqual({ ...idle, queued: 1, retrying: 1 });
    expect(await messages()).toEqual([expect.objectContaining({ event: 'created', status: 'pending', attempts: 1, lastError: 'answered HTTP 500', next: clock.t + 5000 })]);
    clock.advance(4000);
    expect(await n.run()).toEqual(idle);
    clock.advance(1000);
    expect(await n.run()).toEqual({ ...idle, retrying: 1 });
    expect(await messages()).toEqual([expect.objectContaining({ status: 'pending', attempts: 2, next: clock.t + 10_000 })]);
    clock.advance(10_000);
    expect(await n.run()).toEqual({ ...idle, sent: 1 });
    expect(await messages()).toEqual([expect.objectContaining({ status: 'sent', attempts: 3, lastError: null })]);
    clock.advance(600_000);
    expect(await n.run()).toEqual(idle);
    expect(hitsAt('/flaky')).toHaveLength(3);
    expect(hitsAt('/flaky').every((h) => signatureValid(h, SECRET_A))).toBe(true);
    expect(bodies('/flaky').map((m) => [m.event, m.order.id])).toEqual(Array(3).fill(['created', order.id]));
  });

  it('queues nothing for a team without channels, nor for an order without a team', async () => {
    const quiet = await create({ team: 'quiet' });
    const teamless = await create({ team: undefined });
    await orders.act(quiet.id, 'assign', 'mgr.sun', { assignee: 'tech.qian' });
    await orders.act(teamless.id, 'assign', 'mgr.sun', { assignee: 'tech.qian' });
    expect(await notifier().run()).toEqual(idle);
    expect(await messages()).toEqual([]);
    expect(receiver.hits).toEqual([]);
    expect(mails).toEqual([]);
    const notices = await db.query<{ order: string; event: string; targets: number }>('SELECT order_id::text AS order, event, targets FROM work_order_notices ORDER BY id');
    expect(notices).toEqual([
      { order: quiet.id, event: 'created', targets: 0 },
      { order: quiet.id, event: 'assigned', targets: 0 },
    ]);
  });

  it('sends nothing again after a restart, and what a stopped instance left is sent once by the next', async () => {
    const first = await create();
    const before = notifier();
    expect(await before.run()).toEqual({ ...idle, queued: 3, sent: 3 });
    // The instance stops right after an order is raised, before its round.
    const second = await create({ title: 'Raised before the restart' });
    before.close();

    const restarted = createPostgresClient({ connectionString: database.url });
    try {
      const after = notifier(restarted);
      expect(await after.run()).toEqual({ ...idle, queued: 3, sent: 3 });
      expect(await after.run()).toEqual(idle);
      expect(await notifier(restarted).run()).toEqual(idle);
      expect(bodies('/maintenance/a').map((m) => m.order.id)).toEqual([first.id, second.id]);
      expect(hitsAt('/maintenance/b')).toHaveLength(2);
      expect(mails).toHaveLength(2);
      // Breaches noted before a restart are not noted again after it (electrical, priority 3: 4 h and 24 h).
      clock.advance(25 * 60 * MINUTE);
      expect(await notifier().run()).toMatchObject({ breached: 4, sent: 12 });
      expect(await notifier(restarted).run()).toEqual(idle);
      expect(hitsAt('/maintenance/a')).toHaveLength(2 + 4);
    } finally {
      await restarted.close();
    }
  });

  it('does not send a breach retried after the clock stopped', async () => {
    flakyFailures = 1_000;
    const order = await create({ team: 'flaky', category: 'plumbing', priority: 1 });
    const n = notifier();
    await n.run();
    clock.advance(16 * MINUTE);
    expect(await n.run()).toMatchObject({ breached: 1, retrying: 2 });
    await orders.act(order.id, 'assign', 'mgr.sun', { assignee: 'tech.zhao' });
    await orders.act(order.id, 'start', 'tech.zhao', {});
    flakyFailures = 0;
    clock.advance(60_000);
    // The creation and the assignment are still told of; the breach is no longer news.
    expect(await n.run()).toMatchObject({ sent: 2, cancelled: 1 });
    const rows = await messages();
    expect(rows.map((m) => [m.event, m.status])).toEqual([
      ['created', 'sent'],
      ['response_breached', 'cancelled'],
      ['assigned', 'sent'],
    ]);
    expect(rows[1]!.lastError).toBe('not sent: the order was started');
  });

  it('runs as a round of the work-order timer', async () => {
    const order = await create();
    const jobs = new WorkOrderJobs([notifier()], 100, silent);
    jobs.start();
    const deadline = Date.now() + 10_000;
    while (hitsAt('/maintenance/').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await jobs.stop();
    expect(bodies('/maintenance/').map((m) => [m.event, m.order.id])).toEqual([
      ['created', order.id],
      ['created', order.id],
    ]);
  });

  it('refuses e-mail to a team without a mail server, at start', () => {
    const teams = [{ id: 'maintenance', name: 'Maintenance', email: ['maintenance@example.com'] }];
    const parsed = cloudConfigSchema.safeParse({ storage: { kind: 'pglite' }, mqtt: { url: 'mqtt://127.0.0.1:1883' }, workOrders: { teams } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues).toEqual([
      expect.objectContaining({ path: ['workOrders', 'teams', 0, 'email'], message: 'team "maintenance" has e-mail addresses: that needs alarms.smtp (the mail server)' }),
    ]);
    const withSmtp = { storage: { kind: 'pglite' }, mqtt: { url: 'mqtt://127.0.0.1:1883' }, alarms: { smtp: { host: 'smtp.example.com', from: 'x@example.com' } }, workOrders: { teams } };
    expect(cloudConfigSchema.safeParse(withSmtp).success).toBe(true);
    expect(() => new WorkOrderNotifier({ db, config: { teams }, logger: silent })).toThrow('work-order team "maintenance" has e-mail addresses: that needs alarms.smtp (the mail server)');
  });
});

describe('work-order notifications on PGlite', () => {
  it('tells the team of a new order and of a breach once, the trigger and the scan working on the embedded database', async () => {
    const { db, close } = await openTestDatabase('pglite');
    const receiver = await webhookReceiver(() => 204);
    const clock = new TestClock(Date.now());
    try {
      await seedSites(db);
      const config: WorkOrdersConfigInput = { teams: [{ id: 'maintenance', name: 'Maintenance', webhooks: [{ url: `${receiver.url}/hook`, secret: SECRET_A }] }] };
      const orders = new WorkOrderService({ db, config, calendar: WorkCalendar.china(), logger: silent, now: clock.now });
      const notifier = new WorkOrderNotifier({ db, config, logger: silent, now: clock.now });
      const order = await orders.create({ site: 'sunrise', title: '漏水', category: 'plumbing', priority: 1, team: 'maintenance', assignee: 'tech.zhao' }, 'mgr.sun');
      expect(await notifier.run()).toEqual({ breached: 0, queued: 1, sent: 1, retrying: 0, failed: 0, cancelled: 0 });
      clock.advance(16 * MINUTE);
      expect(await notifier.run()).toMatchObject({ breached: 1, sent: 1 });
      expect(await notifier.run()).toMatchObject({ breached: 0, sent: 0 });
      const events = receiver.hits.map((h) => JSON.parse(h.body) as WorkOrderNotification);
      expect(events.map((e) => [e.event, e.assignee, e.order.id])).toEqual([
        ['created', 'tech.zhao', order.id],
        ['response_breached', 'tech.zhao', order.id],
      ]);
      expect(receiver.hits.every((h) => signatureValid(h, SECRET_A))).toBe(true);
      const [line] = await db.query<{ note: string }>("SELECT note FROM work_order_events WHERE order_id = $1 AND kind = 'response_breached'", [order.id]);
      expect(line!.note).toMatch(/^响应超时：时限 \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    } finally {
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
      await close();
    }
  });
});

describe('work-order e-mail texts', () => {
  const order: WorkOrderNotification['order'] = {
    id: '7', number: 'WO-000007', site: 'sunrise', title: '3-1502 厨房漏水\n请尽快', description: '住户来电', category: 'plumbing', priority: 2, state: 'open',
    origin: 'manual', asset: null, building: 'b1', floor: '15', unit: '1502', device: null, team: 'maintenance', assignee: null, createdAt: 0,
    responseDueAt: Date.UTC(2025, 9, 9, 4, 0), resolutionDueAt: Date.UTC(2025, 9, 9, 12, 0), respondedAt: null, completedAt: null,
    responseSla: 'on_track', resolutionSla: 'on_track', timeZone: 'Asia/Shanghai',
  };

  it('writes in the team language (zh-CN by default), due times in site time, the subject on one line', () => {
    const mail = workOrderMail({ event: 'created', at: 0, assignee: null, order, sentAt: 0 }, notificationTexts('zh-CN'), () => '工程维修组');
    expect(mail.subject).toBe('[WO-000007] 新工单：3-1502 厨房漏水 请尽快');
    expect(mail.text.split('\n')).toEqual(
      expect.arrayContaining(['项目：sunrise，楼栋 b1，楼层 15，房号 1502', '类别：给排水', '优先级：2 (高)', '状态：待派单', '班组：工程维修组', '处理人：未派单', '响应时限：2025-10-09 12:00 (Asia/Shanghai)', '完成时限：2025-10-09 20:00 (Asia/Shanghai)']),
    );
    const breach = workOrderMail({ event: 'resolution_breached', at: 0, assignee: 'tech.zhao', order, sentAt: 0 }, notificationTexts('en'), (id) => id);
    expect(breach.subject).toBe('[WO-000007] Work order resolution overdue: 3-1502 厨房漏水 请尽快');
    expect(breach.text).toContain('The resolution deadline has passed and it is not completed.');
    expect(breach.text).toContain('Assignee: tech.zhao');
  });
});
