import { randomUUID } from 'node:crypto';
import { commandCodec, topics } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { CloudMetrics } from '../status/metrics.js';
import type { SqlClient } from '../storage/sql-client.js';

export interface MissingRange {
  site: string;
  gateway: string;
  stream: 'telemetry' | 'events';
  from: number;
  to: number;
}

export interface GapDetectorOptions {
  db: SqlClient;
  publish: (topic: string, payload: Buffer) => Promise<void>;
  logger: Logger;
  metrics: CloudMetrics;
  /** how often to look */
  checkEveryMs: number;
  /** a range must stay missing this long before it is asked for (it may just be on its way) */
  graceMs: number;
  /** a range still missing is asked for again after this long */
  resendEveryMs: number;
}

const MAX_RESEND_ENTRIES = 999_999;

// Serialises the check across cloud instances sharing one database.
const GAP_CHECK_LOCK = 7_362_003;

/**
 * Finds journal entries a gateway says were delivered (its broker acknowledged them) that the cloud
 * never stored, and asks the gateway to send them again. A broker that loses messages after
 * acknowledging them (a crash, a restart that drops a subscription) then costs nothing.
 */
export class GapDetector {
  private timer: NodeJS.Timeout | undefined;
  private readonly missingSince = new Map<string, number>();
  private readonly requestedAt = new Map<string, number>();

  constructor(private readonly options: GapDetectorOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.checkAndRequest()
        .then(() => this.mergeContiguousRanges())
        .catch((err: Error) => this.options.logger.warn({ err: err.message }, 'gap check failed'));
    }, this.options.checkEveryMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Ranges missing right now (below what each gateway reported delivered). */
  async missing(): Promise<MissingRange[]> {
    return this.options.db.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [GAP_CHECK_LOCK]);
      if (!lock?.locked) return [];
      return tx.query<MissingRange>(
        `WITH delivered AS (
           SELECT g.site, g.id AS gateway, s.key AS stream, (s.value->>'ackedThrough')::bigint AS acked
             FROM gateways g, jsonb_each(g.streams) s
            WHERE g.streams IS NOT NULL
         ), ordered AS (
           SELECT site, gateway, stream, first_seq, last_seq,
                  max(last_seq) OVER (PARTITION BY site, gateway, stream ORDER BY first_seq, last_seq
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
             FROM received_batches
         )
         -- Before a stream's first stored batch lie its entries from 1 on (published before any cloud
         -- had subscribed, say): missing too.
         SELECT o.site, o.gateway, o.stream, (COALESCE(o.before, 0) + 1)::float8 AS "from", (LEAST(o.first_seq - 1, d.acked))::float8 AS "to"
           FROM ordered o JOIN delivered d USING (site, gateway, stream)
          WHERE o.first_seq > COALESCE(o.before, 0) + 1 AND COALESCE(o.before, 0) + 1 <= d.acked
         UNION ALL
         SELECT d.site, d.gateway, d.stream, (m.last + 1)::float8, d.acked::float8
           FROM delivered d
           JOIN (SELECT site, gateway, stream, max(last_seq) AS last FROM received_batches GROUP BY 1, 2, 3) m USING (site, gateway, stream)
          WHERE m.last < d.acked
          ORDER BY 1, 2, 3, 4`,
      );
    });
  }

  /**
   * Merges each gateway's unbroken run of stored batch ranges, from its first one up to the first gap,
   * into one row: the table keeps a row per gap, not per batch.
   */
  async mergeContiguousRanges(): Promise<number> {
    return this.options.db.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [GAP_CHECK_LOCK]);
      if (!lock?.locked) return 0;
      const runs = await tx.query<{ site: string; gateway: string; stream: string; first: number; last: number; rows: number; historical: boolean; lost: boolean }>(
        `WITH ordered AS (
           SELECT site, gateway, stream, first_seq, last_seq, historical, lost,
                  max(last_seq) OVER (PARTITION BY site, gateway, stream ORDER BY first_seq, last_seq
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
             FROM received_batches
         ), first_gap AS (
           SELECT site, gateway, stream, min(first_seq) AS gap_at
             FROM ordered WHERE before IS NOT NULL AND first_seq > before + 1 GROUP BY 1, 2, 3
         )
         SELECT o.site, o.gateway, o.stream, min(o.first_seq)::float8 AS first, max(o.last_seq)::float8 AS last, count(*)::int AS rows,
                bool_or(o.historical) AS historical, bool_or(o.lost) AS lost
           FROM ordered o LEFT JOIN first_gap g USING (site, gateway, stream)
          WHERE g.gap_at IS NULL OR o.first_seq < g.gap_at
          GROUP BY 1, 2, 3
         HAVING count(*) > 1`,
      );
      let merged = 0;
      for (const run of runs) {
        await tx.query('DELETE FROM received_batches WHERE site = $1 AND gateway = $2 AND stream = $3 AND first_seq >= $4 AND last_seq <= $5', [run.site, run.gateway, run.stream, run.first, run.last]);
        // The merged row remembers whether any of it was replayed, or recorded as lost.
        await tx.query('INSERT INTO received_batches (site, gateway, stream, first_seq, last_seq, historical, lost) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING', [run.site, run.gateway, run.stream, run.first, run.last, run.historical, run.lost]);
        merged += run.rows - 1;
      }
      return merged;
    });
  }

  /** One round: ranges missing for longer than the grace period are asked for. */
  async checkAndRequest(now = Date.now()): Promise<MissingRange[]> {
    const ranges = await this.missing();
    const seen = new Set<string>();
    const requested: MissingRange[] = [];
    for (const range of ranges) {
      // Keyed by where the range starts: its end moves while the gateway reports new acknowledgements.
      const key = `${range.site}/${range.gateway}/${range.stream}/${range.from}`;
      seen.add(key);
      const since = this.missingSince.get(key) ?? now;
      this.missingSince.set(key, since);
      const last = this.requestedAt.get(key);
      if (now - since < this.options.graceMs || (last !== undefined && now - last < this.options.resendEveryMs)) continue;
      this.requestedAt.set(key, now);
      // A resend covers fewer than a million entries; a longer range is asked for a piece at a time.
      const to = Math.min(range.to, range.from + MAX_RESEND_ENTRIES - 1);
      const command = commandCodec.encode({ v: 1, id: randomUUID(), issuedBy: 'cloud:gap-detector', issuedAt: now, expiresAt: now + 60_000, args: { stream: range.stream, from: range.from, to } });
      await this.options.publish(topics.command({ site: range.site, gateway: range.gateway }, 'resend'), command);
      this.options.metrics.resendsRequested.inc({ stream: range.stream });
      this.options.logger.warn({ ...range }, 'entries delivered by the gateway but never stored; asked for them again');
      requested.push(range);
    }
    for (const key of [...this.missingSince.keys()]) if (!seen.has(key)) this.missingSince.delete(key);
    for (const key of [...this.requestedAt.keys()]) if (!seen.has(key)) this.requestedAt.delete(key);
    return requested;
  }
}
