import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql-client.js';
import { alarmsConfigSchema, type AlarmsConfig, type AlarmsConfigInput, type EscalationLevelConfig } from './alarm-config.js';
import { escalationLevelsFor } from './alarm-rules.js';
import { auditAlarm, lockLiveFeed, ms, pushAlarms, redactUrl, ts } from './alarm-store.js';

export interface AlarmEscalatorOptions {
  db: SqlClient;
  config: AlarmsConfigInput;
  logger: Logger;
  now?: () => number;
}

/**
 * Escalates alarms left unacknowledged: when an alarm has been new for its next level's delay, the
 * level is claimed (escalation_level moves on only where it still has the value read, so two cloud
 * instances never both claim it) and, in the same transaction, a notification per target is queued for
 * the notifier, with an audit line and a live-feed item.
 */
export class AlarmEscalator {
  readonly config: AlarmsConfig;
  private readonly db: SqlClient;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(options: AlarmEscalatorOptions) {
    this.config = alarmsConfigSchema.parse(options.config);
    this.db = options.db;
    this.logger = options.logger.child({ component: 'alarm-escalation' });
    this.now = options.now ?? Date.now;
  }

  /** One round: every level now due is claimed and queued. Returns how many levels were escalated. */
  async run(): Promise<number> {
    if (this.config.escalation.length === 0) return 0;
    const now = this.now();
    const waiting = await this.db.query<{ id: string; priority: number; level: number; raisedAt: number }>(
      `SELECT id::text AS id, priority, escalation_level AS level, ${ms('raised_at')} AS "raisedAt" FROM alarms WHERE state = 'new' ORDER BY priority, raised_at`,
    );
    let escalated = 0;
    for (const alarm of waiting) {
      const levels = escalationLevelsFor(this.config.escalation, alarm.priority);
      // Several levels may be due at once (the cloud was down): each is claimed in turn.
      for (let level = alarm.level; level < levels.length; level++) {
        const next = levels[level]!;
        if (now - alarm.raisedAt < next.unacknowledgedAfterSeconds * 1000) break;
        const site = await this.escalate(alarm.id, level, next, now);
        if (site === undefined) break;
        escalated++;
        this.logger.warn({ alarm: alarm.id, site, level: level + 1, targets: next.webhooks.length + next.email.length }, 'alarm escalated');
      }
    }
    return escalated;
  }

  /** Claims level `from` + 1 of an alarm and queues its notifications; returns its site, or undefined when it was not (any longer) due. */
  private async escalate(id: string, from: number, level: EscalationLevelConfig, now: number): Promise<string | undefined> {
    const targets = [...level.webhooks.map((w) => ({ channel: 'webhook', target: w.url })), ...level.email.map((address) => ({ channel: 'email', target: address }))];
    return this.db.transaction(async (tx) => {
      await lockLiveFeed(tx);
      const [claimed] = await tx.query<{ site: string; raisedAt: number }>(
        `UPDATE alarms SET escalation_level = $2 + 1, updated_at = ${ts('$3')}
          WHERE id = $1 AND escalation_level = $2 AND state = 'new' RETURNING site, ${ms('raised_at')} AS "raisedAt"`,
        [id, from, now],
      );
      if (!claimed) return undefined;
      // A cleared alarm that occurs again escalates again: the earlier episode's rows are sent anew.
      await tx.query(
        `INSERT INTO alarm_notifications (alarm_id, level, channel, target, next_attempt_at, created_at)
           SELECT $1, $2, c, t, ${ts('$5')}, ${ts('$5')} FROM unnest($3::text[], $4::text[]) AS x (c, t)
         ON CONFLICT (alarm_id, level, channel, target) DO UPDATE SET
           status = 'pending', attempts = 0, next_attempt_at = EXCLUDED.next_attempt_at, last_error = NULL,
           created_at = EXCLUDED.created_at, sent_at = NULL`,
        [id, from + 1, targets.map((t) => t.channel), targets.map((t) => t.target), now],
      );
      const waited = Math.round((now - claimed.raisedAt) / 1000);
      await auditAlarm(tx, claimed.site, id, {
        actor: 'system',
        action: 'alarm.escalate',
        fromState: 'new',
        toState: 'new',
        note: `unacknowledged for ${waited} s: escalation level ${from + 1}`,
        details: { level: from + 1, targets: targets.map((t) => ({ channel: t.channel, target: t.channel === 'webhook' ? redactUrl(t.target) : t.target })) },
      });
      await pushAlarms(tx, [id]);
      return claimed.site;
    });
  }
}
