import type { Logger } from 'pino';
import { ms } from '../alarms/alarm-store.js';
import type { SqlClient } from '../storage/sql-client.js';
import type { WorkOrderRule } from './work-order-config.js';
import { appendOrderEvent } from './work-order-store.js';
import { raiserTexts } from './raiser-texts.js';
import type { WorkOrderService } from './work-order-service.js';

// Arbitrary constant: one raiser round at a time across cloud instances.
const RAISER_LOCK_ID = 7_362_410;
/** Findings and fault alarms older than this are not looked at for new orders. */
const LOOKBACK = "interval '7 days'";

export interface RaiserRound {
  raised: number;
  occurrences: number;
  cleared: number;
}

/**
 * Turns energy findings and lasting faults into work orders by the configured rules: a finding or an
 * alarm episode is counted once (work_order_sources), on the active order of its asset and problem or on
 * a new one; and an order whose problems have all ended says so (condition_cleared_at) for a person to
 * close. Runs in rounds, one at a time across instances, each change in its own transaction.
 */
export class WorkOrderRaiser {
  readonly name = 'raiser';
  private readonly logger: Logger;
  private readonly texts: ReturnType<typeof raiserTexts>;

  constructor(
    private readonly db: SqlClient,
    private readonly orders: WorkOrderService,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = logger.child({ component: 'work-order-raiser' });
    this.texts = raiserTexts(orders.config.language);
  }

  async run(): Promise<RaiserRound> {
    return this.db.withSessionLock(RAISER_LOCK_ID, async () => {
      const round: RaiserRound = { raised: 0, occurrences: 0, cleared: 0 };
      const rules = this.orders.config.rules;
      if (rules.length > 0) {
        await this.fromFindings(rules, round);
        await this.fromFaults(rules, round);
      }
      round.cleared = await this.noteCleared();
      return round;
    });
  }

  private ruleFor(site: string, match: (rule: WorkOrderRule) => boolean): WorkOrderRule | undefined {
    return this.orders.config.rules.find((r) => (r.sites === undefined || r.sites.includes(site)) && match(r));
  }

  private async fromFindings(rules: readonly WorkOrderRule[], round: RaiserRound): Promise<void> {
    const detectors = [...new Set(rules.flatMap((r) => r.findings))];
    if (detectors.length === 0) return;
    const findings = await this.db.query<{
      id: string; site: string; device: string; detector: string; variant: string | null; confidence: number; ongoing: boolean; startAt: number; endAt: number;
      reasonEn: string; reasonZh: string; excess: number | null; costCny: number | null; unit: string; commodity: string; evidence: unknown; asset: string | null; name: string | null;
    }>(
      `SELECT f.id::text AS id, f.site, f.device, f.detector, f.variant, f.confidence, f.ongoing, ${ms('f.start_at')} AS "startAt", ${ms('f.end_at')} AS "endAt",
              f.reason_en AS "reasonEn", f.reason_zh AS "reasonZh", f.excess, f.cost_cny AS "costCny", f.unit, f.commodity, f.evidence,
              (SELECT min(a.asset) FROM asset_devices a WHERE a.site = f.site AND a.device = f.device) AS asset,
              (SELECT d.name FROM devices d WHERE d.site = f.site AND d.id = f.device) AS name
         FROM findings f
        WHERE f.detector = ANY($1::text[]) AND (f.ongoing OR f.end_at > now() - ${LOOKBACK})
          AND NOT EXISTS (SELECT 1 FROM work_order_sources s WHERE s.ref = 'finding:' || f.id)
        ORDER BY f.start_at`,
      [detectors],
    );
    for (const f of findings) {
      const rule = this.ruleFor(f.site, (r) => r.findings.includes(f.detector as never) && f.confidence >= r.minConfidence && (r.commodities === undefined || r.commodities.includes(f.commodity as never)));
      if (!rule) continue;
      const meter = f.name ? `${f.name} (${f.device})` : f.device;
      await this.raiseOne(round, `finding:${f.id}`, {
        site: f.site,
        origin: 'finding',
        sourceKey: `finding:${f.device}:${f.detector}`,
        title: `${this.texts.findingTitles[f.detector] ?? f.detector}: ${meter}`,
        category: rule.category,
        priority: rule.priority,
        team: rule.team,
        description: this.texts.lang === 'zh-CN' ? `${f.reasonZh}\n${f.reasonEn}` : `${f.reasonEn}\n${f.reasonZh}`,
        evidence: { kind: 'finding', findingId: f.id, detector: f.detector, variant: f.variant, startAt: f.startAt, endAt: f.endAt, ongoing: f.ongoing, confidence: f.confidence, excess: f.excess, costCny: f.costCny, unit: f.unit, chart: f.evidence ?? null },
        device: f.device,
        asset: f.asset,
        checklist: this.texts.findingChecklists[f.detector],
      });
    }
  }

  private async fromFaults(rules: readonly WorkOrderRule[], round: RaiserRound): Promise<void> {
    const types = [...new Set(rules.flatMap((r) => r.faults))];
    if (types.length === 0) return;
    const now = this.now();
    const alarms = await this.db.query<{
      id: string; site: string; type: string; device: string | null; gateway: string | null; detail: string | null; raisedAt: number; endedAt: number | null;
      eventGateway: string | null; eventId: string | null; asset: string | null; name: string | null;
    }>(
      `SELECT a.id::text AS id, a.site, a.type, a.device, a.gateway, a.detail, ${ms('a.raised_at')} AS "raisedAt", ${ms('a.condition_ended_at')} AS "endedAt",
              a.event_gateway AS "eventGateway", a.event_id AS "eventId",
              (SELECT min(x.asset) FROM asset_devices x WHERE x.site = a.site AND x.device = a.device) AS asset,
              (SELECT d.name FROM devices d WHERE d.site = a.site AND d.id = a.device) AS name
         FROM alarms a
        WHERE a.type = ANY($1::text[]) AND a.raised_at > now() - ${LOOKBACK}
          AND NOT EXISTS (SELECT 1 FROM work_order_sources s WHERE s.ref = 'alarm:' || a.id || ':' || ${ms('a.raised_at')})
        ORDER BY a.raised_at`,
      [types],
    );
    for (const a of alarms) {
      // A fault raises an order once it has lasted the rule's time (one that ended sooner raises none).
      const lasted = (a.endedAt ?? now) - a.raisedAt;
      const rule = this.ruleFor(a.site, (r) => r.faults.includes(a.type as never) && lasted >= r.faultAfterMinutes * 60_000);
      if (!rule) continue;
      const subject = a.device ?? a.gateway ?? a.site;
      const what = a.name ? `${a.name} (${subject})` : subject;
      await this.raiseOne(round, `alarm:${a.id}:${a.raisedAt}`, {
        site: a.site,
        origin: 'fault',
        sourceKey: `fault:${subject}:${a.type}`,
        title: `${this.texts.faultTitles[a.type] ?? a.type}: ${what}`,
        category: rule.category,
        priority: rule.priority,
        team: rule.team,
        description: this.texts.faultSince(this.texts.faultTitles[a.type] ?? a.type, a.raisedAt, a.detail),
        evidence: { kind: 'alarm', alarmId: a.id, type: a.type, raisedAt: a.raisedAt, gateway: a.gateway, eventGateway: a.eventGateway, eventId: a.eventId },
        device: a.device,
        asset: a.asset,
        checklist: this.texts.faultChecklists[a.type],
      });
    }
  }

  private async raiseOne(round: RaiserRound, ref: string, order: Parameters<WorkOrderService['raise']>[1]): Promise<void> {
    try {
      const done = await this.db.transaction((tx) => this.orders.raise(tx, order, ref, this.now()));
      if (done?.created) round.raised++;
      else if (done) round.occurrences++;
    } catch (err) {
      // One bad source (a site removed meanwhile …) must not hold back the others.
      this.logger.error({ err, ref }, 'could not raise a work order');
    }
  }

  /** Marks the sources whose problem has ended; notes it on active orders none of whose problems goes on. */
  private async noteCleared(): Promise<number> {
    await this.db.execute(
      `UPDATE work_order_sources s SET active = false
        WHERE s.active AND (
          (s.ref LIKE 'finding:%' AND NOT EXISTS (SELECT 1 FROM findings f WHERE 'finding:' || f.id = s.ref AND f.ongoing))
          OR (s.ref LIKE 'alarm:%' AND NOT EXISTS (SELECT 1 FROM alarms a WHERE 'alarm:' || a.id || ':' || ${ms('a.raised_at')} = s.ref
                                                   AND a.condition_ended_at IS NULL AND a.state <> 'closed')))`,
    );
    const cleared = await this.db.query<{ id: string; origin: string }>(
      `SELECT o.id::text AS id, o.origin FROM work_orders o
        WHERE o.origin IN ('finding', 'fault') AND o.condition_cleared_at IS NULL AND o.state IN ('open', 'assigned', 'in_progress', 'on_hold')
          AND NOT EXISTS (SELECT 1 FROM work_order_sources s WHERE s.order_id = o.id AND s.active)`,
    );
    for (const order of cleared) {
      await this.db.transaction(async (tx) => {
        const updated = await tx.query('UPDATE work_orders SET condition_cleared_at = clock_timestamp(), updated_at = clock_timestamp() WHERE id = $1 AND condition_cleared_at IS NULL RETURNING id', [order.id]);
        if (updated.length > 0) {
          await appendOrderEvent(tx, order.id, {
            actor: 'system',
            kind: 'condition_cleared',
            note: order.origin === 'finding' ? this.texts.findingEnded : this.texts.faultEnded,
          });
        }
      });
    }
    return cleared.length;
  }
}
