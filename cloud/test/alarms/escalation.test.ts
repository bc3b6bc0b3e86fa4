import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureValid, webhookReceiver } from '../webhook-receiver.js';
import { EventStore, type SqlClient } from '../../src/index.js';
import { AlarmEscalator, AlarmJobs, AlarmNotifier, AlarmService, WebhookChannel, type AlarmsConfigInput, type NotificationMessage } from '../../src/alarms/index.js';
import { auditOf, ev, GW, migratedPglite, openAlarmId, silent, SITE, TestClock } from './alarm-fixtures.js';

const SECRET = 'a-webhook-secret-of-some-length';

interface Mail {
  from: string | undefined;
  to: string[];
  user: string | undefined;
  raw: string;
}

describe('escalation and notifications', () => {
  let db: SqlClient;
  let events: EventStore;
  let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
  let smtp: SMTPServer;
  const mails: Mail[] = [];
  let smtpPort = 0;
  const clock = new TestClock(Date.now());
  let config: AlarmsConfigInput;
  let alarms: AlarmService;
  let escalator: AlarmEscalator;
  let notifier: AlarmNotifier;

  beforeAll(async () => {
    db = await migratedPglite();
    events = new EventStore(db);
    receiver = await webhookReceiver((path) => (path.startsWith('/broken') ? 500 : 204));
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === 'alarms' && auth.password === 'smtp-password') return callback(null, { user: 'alarms' });
        return callback(new Error('invalid login'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined, to: session.envelope.rcptTo.map((r) => r.address), user: session.user as string | undefined, raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    config = {
      escalation: [
        { priority: 2, unacknowledgedAfterSeconds: 60, webhooks: [{ url: `${receiver.url}/hooks/guard?token=abc`, secret: SECRET }], email: ['duty@example.com'] },
        { priority: 1, unacknowledgedAfterSeconds: 300, webhooks: [{ url: `${receiver.url}/broken`, secret: SECRET }] },
      ],
      smtp: { host: '127.0.0.1', port: smtpPort, user: 'alarms', password: 'smtp-password', from: 'Gatehouse <alarms@example.com>' },
    };
    alarms = new AlarmService({ db, config, logger: silent, now: clock.now });
    alarms.attach(events);
    escalator = new AlarmEscalator({ db, config, logger: silent, now: clock.now });
    notifier = new AlarmNotifier({ db, config, logger: silent, now: clock.now });
  });

  afterAll(async () => {
    notifier.close();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await db.close();
  });

  const notifications = (alarmId: string) =>
    db.query<{ level: number; channel: string; target: string; status: string; attempts: number; last_error: string | null; next: number }>(
      `SELECT level, channel, target, status, attempts, last_error, (extract(epoch from next_attempt_at) * 1000)::float8 AS next
         FROM alarm_notifications WHERE alarm_id = $1 ORDER BY level, channel`,
      [alarmId],
    );

  it('escalates a new alarm once per level, sends a signed webhook and an e-mail, then retries a failing webhook with backoff', async () => {
    await events.write(GW, [ev('door_forced_open', clock.t - 1000, { device: 'door-lobby', point: '1' })]);
    const id = await openAlarmId(db, 'door_forced_open:gw-01:door-lobby:1');

    clock.advance(30_000);
    expect(await escalator.run()).toBe(0);
    clock.advance(31_000);
    expect(await escalator.run()).toBe(1);
    expect(await escalator.run()).toBe(0);
    expect(await notifications(id)).toMatchObject([
      { level: 1, channel: 'email', target: 'duty@example.com', status: 'pending' },
      { level: 1, channel: 'webhook', target: `${receiver.url}/hooks/guard?token=abc`, status: 'pending' },
    ]);
    expect((await auditOf(db, id)).map((a) => a[0])).toEqual(['alarm.raise', 'alarm.escalate']);

    expect(await notifier.sendDue()).toEqual({ sent: 2, retrying: 0, failed: 0, cancelled: 0 });
    expect(await notifier.sendDue()).toEqual({ sent: 0, retrying: 0, failed: 0, cancelled: 0 });
    const hit = receiver.hits.find((h) => h.path.startsWith('/hooks/guard'))!;
    expect(hit.path).toBe('/hooks/guard?token=abc');
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['x-gatehouse-timestamp']).toBe(String(clock.t));
    expect(signatureValid(hit, SECRET)).toBe(true);
    expect(signatureValid({ ...hit, body: hit.body.replace('"level":1', '"level":2') }, SECRET)).toBe(false);
    const message = JSON.parse(hit.body) as NotificationMessage;
    expect(message).toMatchObject({ level: 1, sentAt: clock.t, alarm: { id, type: 'door_forced_open', priority: 1, state: 'new', escalationLevel: 1, site: SITE, device: 'door-lobby' } });

    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: 'alarms@example.com', to: ['duty@example.com'], user: 'alarms' });
    expect(mails[0]!.raw).toMatch(/^Subject: \[P1\] door_forced_open at sunrise\/door-lobby \(door 1\)\r?$/m);
    expect(mails[0]!.raw).toContain(`Alarm ${id}: door_forced_open, priority 1 (critical)`);
    expect(mails[0]!.raw).not.toContain('smtp-password');

    // Level 2 goes to a webhook that answers 500: retried after 5 s, 10 s, 20 s … then given up.
    clock.advance(240_000);
    expect(await escalator.run()).toBe(1);
    const broken = async () => (await notifications(id)).find((n) => n.level === 2)!;
    expect(await notifier.sendDue()).toMatchObject({ retrying: 1 });
    expect(await broken()).toMatchObject({ status: 'pending', attempts: 1, last_error: 'answered HTTP 500', next: clock.t + 5000 });
    clock.advance(4000);
    expect(await notifier.sendDue()).toMatchObject({ retrying: 0 });
    const delays: number[] = [];
    for (let attempt = 2; attempt <= 10; attempt++) {
      clock.t = (await broken()).next;
      const round = await notifier.sendDue();
      const row = await broken();
      expect(row.attempts).toBe(attempt);
      if (attempt < 10) {
        expect(round).toMatchObject({ retrying: 1 });
        delays.push(row.next - clock.t);
      } else {
        expect(round).toMatchObject({ failed: 1 });
        expect(row).toMatchObject({ status: 'failed', last_error: 'answered HTTP 500' });
      }
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000]);
    expect(receiver.hits.filter((h) => h.path === '/broken')).toHaveLength(10);
    expect(receiver.hits.filter((h) => h.path === '/broken').every((h) => signatureValid(h, SECRET))).toBe(true);

    const detail = await alarms.get(id);
    expect(detail!.escalationLevel).toBe(2);
    // People see webhook targets without their query string (it may hold a token).
    expect(detail!.notifications.map((n) => [n.level, n.channel, n.target, n.status])).toEqual([
      [1, 'webhook', `${receiver.url}/hooks/guard`, 'sent'],
      [1, 'email', 'duty@example.com', 'sent'],
      [2, 'webhook', `${receiver.url}/broken`, 'failed'],
    ]);
  });

  it('does not chase an alarm acknowledged before its notification went out', async () => {
    await events.write(GW, [ev('door_held_open', clock.t, { device: 'door-back' })]);
    const id = await openAlarmId(db, 'door_held_open:gw-01:door-back:');
    clock.advance(61_000);
    expect(await escalator.run()).toBe(1);
    await alarms.acknowledge(id, 'guard.li', 'on it', 'genuine');
    const before = receiver.hits.length;
    expect(await notifier.sendDue()).toEqual({ sent: 0, retrying: 0, failed: 0, cancelled: 2 });
    expect(receiver.hits.length).toBe(before);
    // P2 gets level 1 only; acknowledged, it escalates no further.
    clock.advance(3_600_000);
    expect(await escalator.run()).toBe(0);
  });

  it('escalates again when a cleared alarm occurs again', async () => {
    const t = clock.t;
    await events.write(GW, [ev('door_held_open', t, { device: 'door-side' })]);
    const id = await openAlarmId(db, 'door_held_open:gw-01:door-side:');
    clock.advance(61_000);
    expect(await escalator.run()).toBe(1);
    await notifier.sendDue();
    await alarms.acknowledge(id, 'guard.li', 'closing it', 'genuine');
    await events.write(GW, [ev('door_closed', clock.t, { device: 'door-side' })]);
    await events.write(GW, [ev('door_held_open', clock.advance(1000), { device: 'door-side' })]);
    expect(await alarms.get(id)).toMatchObject({ state: 'new', escalationLevel: 0, raisedAt: clock.t });
    clock.advance(30_000);
    expect(await escalator.run()).toBe(0);
    clock.advance(31_000);
    expect(await escalator.run()).toBe(1);
    expect((await notifications(id)).map((n) => [n.status, n.attempts])).toEqual([
      ['pending', 0],
      ['pending', 0],
    ]);
    expect(await notifier.sendDue()).toMatchObject({ sent: 2 });
  });

  it('fails a webhook that does not answer within its timeout, refuses, or is no longer configured', async () => {
    const silentServer = createServer(() => undefined);
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silentServer.address() as AddressInfo).port}/slow`;
    const channel = new WebhookChannel((u) => (u === url ? SECRET : undefined), 200);
    const alarm = (await alarms.list({ sites: '*', limit: 1 })).alarms[0]!;
    await expect(channel.send(url, { alarm, level: 1, sentAt: clock.t })).rejects.toThrow('no answer within 0.2 s');
    await expect(channel.send('http://127.0.0.1:1/closed', { alarm, level: 1, sentAt: clock.t })).rejects.toThrow('this webhook is no longer in the configuration');
    // a port nothing listens on any more
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = new WebhookChannel(() => SECRET);
    await expect(refused.send(`http://127.0.0.1:${closedPort}/gone`, { alarm, level: 1, sentAt: clock.t })).rejects.toThrow('request failed: ECONNREFUSED');
    silentServer.closeAllConnections();
    await new Promise<void>((resolve) => silentServer.close(() => resolve()));
  });

  it('runs health checks, escalation and notifications on timers, and stops cleanly', async () => {
    const own = await migratedPglite();
    const hits = await webhookReceiver(() => 200);
    const jobsConfig = { checkEveryMs: 100, escalation: [{ priority: 4, unacknowledgedAfterSeconds: 0, webhooks: [{ url: `${hits.url}/now`, secret: SECRET }] }] };
    const service = new AlarmService({ db: own, config: jobsConfig, logger: silent });
    await own.query("INSERT INTO sites (id) VALUES ('s')");
    await own.query("INSERT INTO gateways (site, id, status, last_seen) VALUES ('s', 'gw-quiet', 'online', now() - interval '1 hour')");
    const jobs = new AlarmJobs({ db: own, alarms: service, logger: silent });
    jobs.start();
    const deadline = Date.now() + 10_000;
    while (hits.hits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await jobs.stop();
    expect(hits.hits).toHaveLength(1);
    expect(JSON.parse(hits.hits[0]!.body)).toMatchObject({ level: 1, alarm: { type: 'gateway_offline', gateway: 'gw-quiet' } });
    await new Promise<void>((resolve) => hits.server.close(() => resolve()));
    await own.close();
  });
});
