import { createHmac } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql-client.js';
import { alarmsConfigSchema, type AlarmsConfig, type AlarmsConfigInput, type SmtpConfig } from './alarm-config.js';
import { MAX_NOTIFICATION_ATTEMPTS, retryDelayMs } from './alarm-rules.js';
import { loadAlarm, redactUrl, ts, type Alarm } from './alarm-store.js';

/** What an alarm notification carries; a webhook receives exactly this as its JSON body. */
export interface NotificationMessage {
  alarm: Alarm;
  /** the escalation level that sent it (1 first) */
  level: number;
  /** epoch ms of this attempt */
  sentAt: number;
}

/**
 * One way of telling people (webhook, e-mail) of an alarm, or of whatever else `M` carries (work
 * orders); rejects when the message was not accepted.
 */
export interface NotificationChannel<M = NotificationMessage> {
  send(target: string, message: M): Promise<void>;
  close?(): void;
}

/** A plain-text e-mail: its subject (made one line when sent) and body. */
export interface TextMail {
  subject: string;
  text: string;
}

export const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * The x-gatehouse-signature header: `sha256=` and the hex HMAC-SHA256, keyed with the webhook's secret,
 * of `${timestamp}.${body}` (timestamp: the x-gatehouse-timestamp header, epoch ms). A receiver
 * recomputes it over the raw body, compares in constant time and refuses old timestamps (replays).
 */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * POSTs the message as signed JSON (its sentAt is the signed timestamp); anything but a 2xx answer
 * within the timeout is a failure.
 */
export class WebhookChannel<M extends { sentAt: number } = NotificationMessage> implements NotificationChannel<M> {
  constructor(
    /** the secret of a configured webhook url; undefined when the url is no longer configured */
    private readonly secretOf: (url: string) => string | undefined,
    private readonly timeoutMs = WEBHOOK_TIMEOUT_MS,
  ) {}

  async send(url: string, message: M): Promise<void> {
    const secret = this.secretOf(url);
    if (secret === undefined) throw new Error('this webhook is no longer in the configuration');
    const body = JSON.stringify(message);
    const timestamp = String(message.sentAt);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'gatehouse-cloud',
          'x-gatehouse-timestamp': timestamp,
          'x-gatehouse-signature': webhookSignature(secret, timestamp, body),
        },
        body,
        // A redirect would resend the signed message somewhere else: a 3xx counts as a failure.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new Error(describeFetchError(err, this.timeoutMs));
    }
    await res.body?.cancel().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new Error(`answered HTTP ${res.status}`);
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  // Node's fetch says only "fetch failed"; the cause names what went wrong (ECONNREFUSED, ENOTFOUND …).
  return `request failed: ${e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)}`;
}

/** Sends a plain-text e-mail through the configured SMTP server, written from the message by `compose`. */
export class EmailChannel<M = NotificationMessage> implements NotificationChannel<M> {
  private readonly transport: Transporter;

  constructor(
    private readonly smtp: SmtpConfig,
    private readonly compose: (message: M) => TextMail,
  ) {
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(address: string, message: M): Promise<void> {
    const mail = this.compose(message);
    await this.transport.sendMail({ from: this.smtp.from, to: address, subject: oneLine(mail.subject), text: mail.text });
  }

  close(): void {
    this.transport.close();
  }
}

const PRIORITY_NAMES: Record<number, string> = { 1: 'critical', 2: 'high', 3: 'medium', 4: 'low' };

/** Header-safe: no line breaks or control characters from ids, door names or titles. */
export const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ');

/** e.g. `[P1] door_forced_open at demo-site/door-lobby` */
export function emailSubject(alarm: Alarm): string {
  const where = alarm.device ?? alarm.gateway;
  return oneLine(`[P${alarm.priority}] ${alarm.type} at ${alarm.site}${where ? `/${where}` : ''}${alarm.point ? ` (door ${alarm.point})` : ''}`);
}

/** The e-mail of an alarm notification. */
export function alarmEmail(message: NotificationMessage): TextMail {
  return { subject: emailSubject(message.alarm), text: emailBody(message) };
}

export function emailBody({ alarm, level, sentAt }: NotificationMessage): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const minutes = Math.max(0, Math.round((sentAt - alarm.raisedAt) / 60_000));
  const place = [alarm.gateway && `gateway ${alarm.gateway}`, alarm.device && `device ${alarm.device}`, alarm.point && `door ${alarm.point}`].filter(Boolean).join(', ');
  return [
    `Alarm ${alarm.id}: ${alarm.type}, priority ${alarm.priority} (${PRIORITY_NAMES[alarm.priority] ?? 'unknown'})`,
    `Site: ${alarm.site}${place ? `; ${place}` : ''}`,
    `State: ${alarm.state}, unacknowledged for ${minutes} min (escalation level ${level})`,
    `Occurrences: ${alarm.occurrences} (first ${iso(alarm.firstAt)}, last ${iso(alarm.lastAt)})`,
    ...(alarm.detail ? [`Detail: ${alarm.detail}`] : []),
    ...(alarm.snapshotUrls.length > 0 ? [`Pictures: ${alarm.snapshotUrls.length}, in the console`] : []),
    '',
    'Acknowledge it in the Gatehouse console to stop further escalation.',
    '',
  ].join('\n');
}

export interface AlarmNotifierOptions {
  db: SqlClient;
  config: AlarmsConfigInput;
  logger: Logger;
  now?: () => number;
  /** channels by name; default: webhooks over HTTP, e-mail over config.smtp */
  channels?: Partial<Record<'webhook' | 'email', NotificationChannel>>;
  /** notifications sent per round at most */
  batchSize?: number;
}

// A claimed notification is left to its claimer this long; if that instance dies mid-send, another retries.
const CLAIM_LEASE_MS = 120_000;

export interface NotifyRound {
  sent: number;
  retrying: number;
  failed: number;
  cancelled: number;
}

/**
 * Sends the queued escalation notifications. Due rows are claimed with FOR UPDATE SKIP LOCKED and
 * leased (their next attempt moved past the send) before anything is sent, so two cloud instances never
 * send the same one; failures are retried with exponential backoff, then given up as failed.
 */
export class AlarmNotifier {
  readonly config: AlarmsConfig;
  private readonly db: SqlClient;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly channels: Partial<Record<string, NotificationChannel>>;
  private readonly batchSize: number;

  constructor(options: AlarmNotifierOptions) {
    this.config = alarmsConfigSchema.parse(options.config);
    this.db = options.db;
    this.logger = options.logger.child({ component: 'alarm-notifier' });
    this.now = options.now ?? Date.now;
    this.batchSize = options.batchSize ?? 20;
    const secrets = new Map(this.config.escalation.flatMap((l) => l.webhooks.map((w) => [w.url, w.secret] as const)));
    this.channels = {
      webhook: options.channels?.webhook ?? new WebhookChannel((url) => secrets.get(url)),
      email: options.channels?.email ?? (this.config.smtp ? new EmailChannel(this.config.smtp, alarmEmail) : undefined),
    };
  }

  /** One round: claims the due notifications and sends them. */
  async sendDue(): Promise<NotifyRound> {
    const now = this.now();
    const claimed = await this.db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; alarmId: string; level: number; channel: string; target: string; attempts: number }>(
        `SELECT id::text AS id, alarm_id::text AS "alarmId", level, channel, target, attempts FROM alarm_notifications
          WHERE status = 'pending' AND next_attempt_at <= ${ts('$1')}
          ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, this.batchSize],
      );
      if (rows.length > 0) {
        await tx.query(`UPDATE alarm_notifications SET attempts = attempts + 1, next_attempt_at = ${ts('$2')} WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id), now + CLAIM_LEASE_MS]);
      }
      return rows.map((r) => ({ ...r, attempts: r.attempts + 1 }));
    });
    const round: NotifyRound = { sent: 0, retrying: 0, failed: 0, cancelled: 0 };
    await Promise.all(claimed.map(async (n) => (round[await this.deliver(n)] += 1)));
    return round;
  }

  private async deliver(n: { id: string; alarmId: string; level: number; channel: string; target: string; attempts: number }): Promise<keyof NotifyRound> {
    const alarm = await loadAlarm(this.db, n.alarmId);
    // Acknowledged since it was queued: nobody needs chasing any more.
    if (!alarm || alarm.state !== 'new') {
      await this.record(n, 'cancelled', `not sent: the alarm is ${alarm?.state ?? 'gone'}`);
      return 'cancelled';
    }
    const channel = this.channels[n.channel];
    const sentAt = this.now();
    const shown = n.channel === 'webhook' ? redactUrl(n.target) : n.target;
    try {
      if (!channel) throw new Error(`no ${n.channel} channel configured`);
      await channel.send(n.target, { alarm, level: n.level, sentAt });
    } catch (err) {
      const message = ((err as Error).message || String(err)).slice(0, 500);
      const giveUp = n.attempts >= MAX_NOTIFICATION_ATTEMPTS || !channel;
      await this.record(n, giveUp ? 'failed' : 'retry', message);
      this.logger.warn({ alarm: n.alarmId, channel: n.channel, target: shown, attempts: n.attempts, err: message }, giveUp ? 'alarm notification failed: giving up' : 'alarm notification failed: will retry');
      return giveUp ? 'failed' : 'retrying';
    }
    await this.record(n, 'sent', null);
    this.logger.info({ alarm: n.alarmId, channel: n.channel, target: shown, level: n.level }, 'alarm notification sent');
    return 'sent';
  }

  /** Records an attempt's outcome, unless the row was claimed again or re-queued meanwhile. */
  private async record(n: { id: string; attempts: number }, outcome: 'sent' | 'retry' | 'failed' | 'cancelled', error: string | null): Promise<void> {
    const now = this.now();
    const mine = "WHERE id = $1 AND attempts = $2 AND status = 'pending'";
    if (outcome === 'sent') {
      await this.db.query(`UPDATE alarm_notifications SET status = 'sent', sent_at = ${ts('$3')}, last_error = NULL ${mine}`, [n.id, n.attempts, now]);
    } else if (outcome === 'retry') {
      await this.db.query(`UPDATE alarm_notifications SET next_attempt_at = ${ts('$3')}, last_error = $4 ${mine}`, [n.id, n.attempts, now + retryDelayMs(n.attempts), error]);
    } else {
      await this.db.query(`UPDATE alarm_notifications SET status = $3, last_error = $4 ${mine}`, [n.id, n.attempts, outcome, error]);
    }
  }

  close(): void {
    for (const channel of Object.values(this.channels)) channel?.close?.();
  }
}
