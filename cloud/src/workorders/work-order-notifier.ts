import type { Logger } from 'pino';
import type { SmtpConfig } from '../alarms/alarm-config.js';
import { MAX_NOTIFICATION_ATTEMPTS, retryDelayMs } from '../alarms/alarm-rules.js';
import { ms, redactUrl, ts } from '../alarms/alarm-store.js';
import { EmailChannel, WebhookChannel, type NotificationChannel, type NotifyRound } from '../alarms/notifiers.js';
import type { SqlClient } from '../storage/sql-client.js';
import { notificationTexts, siteTime, workOrderMail, type NotificationTexts, type WorkOrderNoticeEvent, type WorkOrderNotification, type WorkOrderSummary } from './notification-texts.js';
import { workOrdersConfigSchema, type TeamConfig, type WorkOrdersConfig, type WorkOrdersConfigInput } from './work-order-config.js';
import { appendOrderEvent, loadOrder, type WorkOrder } from './work-order-store.js';

export interface WorkOrderNotifierOptions {
  db: SqlClient;
  config: WorkOrdersConfigInput;
  /** the mail server (alarms.smtp); needed when a team has e-mail addresses */
  smtp?: SmtpConfig;
  logger: Logger;
  now?: () => number;
  /** messages sent per round at most */
  batchSize?: number;
}

export interface WorkOrderNotifyRound extends NotifyRound {
  /** deadlines found breached this round (a history line each) */
  breached: number;
  /** messages queued for the teams' webhooks and addresses */
  queued: number;
}

// A claimed message is left to its claimer this long; if that instance dies mid-send, another retries.
const CLAIM_LEASE_MS = 120_000;
// Notices turned into messages per transaction; a backlog drains over a few of them.
const QUEUE_BATCH = 200;

/** The states in which each clock still runs: an order not yet started, an order not yet completed. */
const DEADLINES = {
  response: { column: 'response', running: "o.responded_at IS NULL AND o.state IN ('open', 'assigned')" },
  resolution: { column: 'resolution', running: "o.completed_at IS NULL AND o.state IN ('open', 'assigned', 'in_progress', 'on_hold')" },
} as const;

interface Claimed {
  id: string;
  orderId: string;
  event: WorkOrderNoticeEvent;
  team: string;
  assignee: string | null;
  at: number;
  timeZone: string;
  channel: string;
  target: string;
  attempts: number;
}

/**
 * Tells each order's team (its webhooks and e-mail addresses) of new orders, assignments, and each
 * deadline breached while its clock still runs. Notices are written by a trigger on the order's
 * history in the transaction of the change; a round notes breached deadlines (once per order and
 * deadline: the row is claimed by its marker column), turns notices into one message per target, and
 * sends the due messages as the alarm notifier does: claimed with FOR UPDATE SKIP LOCKED and a lease,
 * retried with backoff, recorded as sent or failed. Two cloud instances on one database send each
 * message once.
 */
export class WorkOrderNotifier {
  readonly name = 'notifier';
  readonly config: WorkOrdersConfig;
  private readonly db: SqlClient;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly batchSize: number;
  private readonly texts: NotificationTexts;
  private readonly teams: Map<string, TeamConfig>;
  // One webhook channel per team: each signs with its own team's secrets.
  private readonly webhooks: Map<string, NotificationChannel<WorkOrderNotification>>;
  private readonly email: NotificationChannel<WorkOrderNotification> | undefined;

  constructor(options: WorkOrderNotifierOptions) {
    this.config = workOrdersConfigSchema.parse(options.config);
    const needsMail = this.config.teams.find((t) => t.email.length > 0);
    if (needsMail && options.smtp === undefined) {
      throw new Error(`work-order team "${needsMail.id}" has e-mail addresses: that needs alarms.smtp (the mail server)`);
    }
    this.db = options.db;
    this.logger = options.logger.child({ component: 'work-order-notifier' });
    this.now = options.now ?? Date.now;
    this.batchSize = options.batchSize ?? 50;
    this.texts = notificationTexts(this.config.language);
    this.teams = new Map(this.config.teams.map((t) => [t.id, t]));
    this.webhooks = new Map(
      this.config.teams.map((t) => [t.id, new WebhookChannel<WorkOrderNotification>((url) => t.webhooks.find((w) => w.url === url)?.secret)]),
    );
    const teamName = (id: string) => this.teams.get(id)?.name ?? id;
    this.email = options.smtp ? new EmailChannel<WorkOrderNotification>(options.smtp, (n) => workOrderMail(n, this.texts, teamName)) : undefined;
  }

  async run(): Promise<WorkOrderNotifyRound> {
    const breached = (await this.noteBreaches('response')) + (await this.noteBreaches('resolution'));
    const queued = await this.queueNotices();
    return { breached, queued, ...(await this.sendDue()) };
  }

  /**
   * Notes the deadline breached on each order whose clock still runs past it: the marker column, and a
   * history line (whose trigger writes the team's notice), in one transaction. Rows another instance
   * or a person is changing are skipped and looked at next round.
   */
  private async noteBreaches(deadline: keyof typeof DEADLINES): Promise<number> {
    const { column, running } = DEADLINES[deadline];
    return this.db.transaction(async (tx) => {
      const breached = await tx.query<{ id: string; number: string; team: string | null; dueAt: number; timeZone: string }>(
        `WITH due AS (
           SELECT o.id FROM work_orders o
            WHERE o.${column}_breach_noted_at IS NULL AND ${running} AND o.${column}_due_at < ${ts('$1')}
            ORDER BY o.id FOR UPDATE SKIP LOCKED)
         UPDATE work_orders o SET ${column}_breach_noted_at = clock_timestamp()
           FROM due, sites s WHERE o.id = due.id AND s.id = o.site
         RETURNING o.id::text AS id, 'WO-' || lpad(o.id::text, 6, '0') AS number, o.team, ${ms(`o.${column}_due_at`)} AS "dueAt", s.time_zone AS "timeZone"`,
        [this.now()],
      );
      for (const order of breached.sort((a, b) => Number(a.id) - Number(b.id))) {
        await appendOrderEvent(tx, order.id, { actor: 'system', kind: `${deadline}_breached`, note: this.texts.breachNote(deadline, siteTime(order.dueAt, order.timeZone)) });
        this.logger.warn({ order: order.number, team: order.team, dueAt: new Date(order.dueAt).toISOString() }, `work order ${deadline} deadline breached`);
      }
      return breached.length;
    });
  }

  /** The webhooks and addresses of a team as configured now; none for a team no longer configured. */
  private targetsOf(team: string): { channel: 'webhook' | 'email'; target: string }[] {
    const config = this.teams.get(team);
    if (!config) return [];
    return [...config.webhooks.map((w) => ({ channel: 'webhook' as const, target: w.url })), ...config.email.map((address) => ({ channel: 'email' as const, target: address }))];
  }

  /** Turns the notices not yet queued into one message per target of their team. */
  private async queueNotices(): Promise<number> {
    let queued = 0;
    for (;;) {
      const { notices, messages } = await this.db.transaction(async (tx) => {
        const rows = await tx.query<{ id: string; team: string }>(
          'SELECT id::text AS id, team FROM work_order_notices WHERE queued_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [QUEUE_BATCH],
        );
        if (rows.length === 0) return { notices: 0, messages: 0 };
        const messages = rows.flatMap((r) => this.targetsOf(r.team).map((t) => ({ notice: r.id, ...t })));
        const now = this.now();
        if (messages.length > 0) {
          await tx.execute(
            `INSERT INTO work_order_notifications (notice_id, channel, target, next_attempt_at, created_at)
               SELECT n, c, t, ${ts('$4')}, ${ts('$4')} FROM unnest($1::bigint[], $2::text[], $3::text[]) AS x (n, c, t)
             ON CONFLICT (notice_id, channel, target) DO NOTHING`,
            [messages.map((m) => m.notice), messages.map((m) => m.channel), messages.map((m) => m.target), now],
          );
        }
        await tx.execute(
          `UPDATE work_order_notices n SET queued_at = ${ts('$3')}, targets = x.targets
             FROM unnest($1::bigint[], $2::int[]) AS x (id, targets) WHERE n.id = x.id`,
          [rows.map((r) => r.id), rows.map((r) => this.targetsOf(r.team).length), now],
        );
        return { notices: rows.length, messages: messages.length };
      });
      queued += messages;
      if (notices < QUEUE_BATCH) return queued;
    }
  }

  /** Claims the due messages and sends them. */
  private async sendDue(): Promise<NotifyRound> {
    const now = this.now();
    const claimed = await this.db.transaction(async (tx) => {
      const rows = await tx.query<Claimed>(
        `SELECT w.id::text AS id, n.order_id::text AS "orderId", n.event, n.team, n.assignee, ${ms('n.at')} AS at, s.time_zone AS "timeZone",
                w.channel, w.target, w.attempts
           FROM work_order_notifications w
           JOIN work_order_notices n ON n.id = w.notice_id
           JOIN work_orders o ON o.id = n.order_id
           JOIN sites s ON s.id = o.site
          WHERE w.status = 'pending' AND w.next_attempt_at <= ${ts('$1')}
          ORDER BY w.next_attempt_at, w.id LIMIT $2 FOR UPDATE OF w SKIP LOCKED`,
        [now, this.batchSize],
      );
      if (rows.length > 0) {
        await tx.execute(`UPDATE work_order_notifications SET attempts = attempts + 1, next_attempt_at = ${ts('$2')} WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id), now + CLAIM_LEASE_MS]);
      }
      return rows.map((r) => ({ ...r, attempts: r.attempts + 1 }));
    });
    const round: NotifyRound = { sent: 0, retrying: 0, failed: 0, cancelled: 0 };
    await Promise.all(claimed.map(async (n) => (round[await this.deliver(n)] += 1)));
    return round;
  }

  private async deliver(n: Claimed): Promise<keyof NotifyRound> {
    const order = await loadOrder(this.db, n.orderId, this.now());
    const stale = order === undefined ? 'the order is gone' : clockStopped(n.event, order);
    if (stale !== undefined) {
      await this.record(n, 'cancelled', `not sent: ${stale}`);
      return 'cancelled';
    }
    const channel = n.channel === 'webhook' ? this.webhooks.get(n.team) : n.channel === 'email' ? this.email : undefined;
    const sentAt = this.now();
    const shown = n.channel === 'webhook' ? redactUrl(n.target) : n.target;
    const log = { order: order!.number, event: n.event, channel: n.channel, target: shown, attempts: n.attempts };
    try {
      if (!channel) throw new Error(this.teams.has(n.team) ? `no ${n.channel} channel configured` : `team "${n.team}" is no longer in the configuration`);
      await channel.send(n.target, { event: n.event, at: n.at, assignee: n.assignee, order: summaryOf(order!, n.timeZone), sentAt });
    } catch (err) {
      const message = ((err as Error).message || String(err)).slice(0, 500);
      const giveUp = n.attempts >= MAX_NOTIFICATION_ATTEMPTS || !channel;
      await this.record(n, giveUp ? 'failed' : 'retry', message);
      this.logger.warn({ ...log, err: message }, giveUp ? 'work order notification failed: giving up' : 'work order notification failed: will retry');
      return giveUp ? 'failed' : 'retrying';
    }
    await this.record(n, 'sent', null);
    this.logger.info(log, 'work order notification sent');
    return 'sent';
  }

  /** Records an attempt's outcome, unless the row was claimed again meanwhile. */
  private async record(n: { id: string; attempts: number }, outcome: 'sent' | 'retry' | 'failed' | 'cancelled', error: string | null): Promise<void> {
    const now = this.now();
    const mine = "WHERE id = $1 AND attempts = $2 AND status = 'pending'";
    if (outcome === 'sent') {
      await this.db.execute(`UPDATE work_order_notifications SET status = 'sent', sent_at = ${ts('$3')}, last_error = NULL ${mine}`, [n.id, n.attempts, now]);
    } else if (outcome === 'retry') {
      await this.db.execute(`UPDATE work_order_notifications SET next_attempt_at = ${ts('$3')}, last_error = $4 ${mine}`, [n.id, n.attempts, now + retryDelayMs(n.attempts), error]);
    } else {
      await this.db.execute(`UPDATE work_order_notifications SET status = $3, last_error = $4 ${mine}`, [n.id, n.attempts, outcome, error]);
    }
  }

  close(): void {
    this.email?.close?.();
  }
}

/** Why a breach message is no longer worth sending (a retry after the clock stopped), if it is not. */
function clockStopped(event: WorkOrderNoticeEvent, order: WorkOrder): string | undefined {
  if (event === 'response_breached' && order.respondedAt !== null) return 'the order was started';
  if (event === 'resolution_breached' && order.completedAt !== null) return 'the order was completed';
  if ((event === 'response_breached' || event === 'resolution_breached') && order.state === 'cancelled') return 'the order was cancelled';
  return undefined;
}

function summaryOf(o: WorkOrder, timeZone: string): WorkOrderSummary {
  return {
    id: o.id, number: o.number, site: o.site, title: o.title, description: o.description, category: o.category, priority: o.priority, state: o.state,
    origin: o.origin, asset: o.asset, building: o.building, floor: o.floor, unit: o.unit, device: o.device, team: o.team, assignee: o.assignee,
    createdAt: o.createdAt, responseDueAt: o.responseDueAt, resolutionDueAt: o.resolutionDueAt, respondedAt: o.respondedAt, completedAt: o.completedAt,
    responseSla: o.responseSla, resolutionSla: o.resolutionSla, timeZone,
  };
}
