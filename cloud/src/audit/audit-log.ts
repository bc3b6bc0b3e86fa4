import type { SqlExecutor } from '../storage/sql-client.js';

/** One line of the audit log: who did what to which thing, when, and with what note. */
export interface AuditEntry {
  /** the user (username), an API token's owner, or `system` for what the cloud did on its own */
  actor: string;
  site: string | null;
  /** e.g. alarm.acknowledge, alarm.clear, door.open, user.create, token.revoke, login */
  action: string;
  targetType: string;
  targetId: string;
  fromState?: string | null;
  toState?: string | null;
  note?: string | null;
  details?: Record<string, unknown> | null;
}

export interface StoredAuditEntry extends Required<Omit<AuditEntry, 'details'>> {
  id: number;
  at: number;
  details: Record<string, unknown> | null;
}

export interface AuditQuery {
  /** sites the reader may see; '*' for all */
  sites: readonly string[] | '*';
  site?: string;
  targetType?: string;
  targetId?: string;
  actor?: string;
  action?: string;
  from?: number;
  to?: number;
  /** entries with an id below this one (paging newest first) */
  before?: number;
  limit: number;
}

const SELECT = `SELECT id, (extract(epoch from at) * 1000)::float8 AS at, actor, site, action, target_type AS "targetType",
  target_id AS "targetId", from_state AS "fromState", to_state AS "toState", note, details FROM audit_log`;

/**
 * The append-only audit log. Lines are written in the transaction of the change they record, so a
 * change and its line are committed together or not at all; the database refuses UPDATE and DELETE.
 */
export const auditLog = {
  async append(tx: SqlExecutor, entry: AuditEntry): Promise<void> {
    await tx.query(
      `INSERT INTO audit_log (actor, site, action, target_type, target_id, from_state, to_state, note, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        entry.actor,
        entry.site,
        entry.action,
        entry.targetType,
        entry.targetId,
        entry.fromState ?? null,
        entry.toState ?? null,
        entry.note ?? null,
        entry.details ? JSON.stringify(entry.details) : null,
      ],
    );
  },

  /** Newest first. Lines without a site (accounts) are shown only to readers of every site. */
  async list(db: SqlExecutor, q: AuditQuery): Promise<StoredAuditEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (q.sites !== '*') add((p) => `site = ANY(${p}::text[])`, [...q.sites]);
    if (q.site !== undefined) add((p) => `site = ${p}`, q.site);
    if (q.targetType !== undefined) add((p) => `target_type = ${p}`, q.targetType);
    if (q.targetId !== undefined) add((p) => `target_id = ${p}`, q.targetId);
    if (q.actor !== undefined) add((p) => `actor = ${p}`, q.actor);
    if (q.action !== undefined) add((p) => `action = ${p}`, q.action);
    if (q.from !== undefined) add((p) => `at >= to_timestamp(${p} / 1000.0)`, q.from);
    if (q.to !== undefined) add((p) => `at < to_timestamp(${p} / 1000.0)`, q.to);
    if (q.before !== undefined) add((p) => `id < ${p}`, q.before);
    params.push(q.limit);
    return db.query<StoredAuditEntry>(`${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`, params);
  },
};
