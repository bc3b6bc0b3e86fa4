import type { SqlExecutor } from '../storage/sql-client.js';

export type LiveKind = 'alarm' | 'event';

export interface LiveItem {
  seq: number;
  site: string;
  kind: LiveKind;
  payload: unknown;
}

// Arbitrary constant (the cloud's advisory locks are 7_362_0xx): one writer of the live feed at a time,
// so that numbers become visible in order.
const LIVE_FEED_LOCK_ID = 7_362_010;

/**
 * Takes the live feed's transaction lock. Transactions that also lock alarm rows take it first, before
 * any alarm row: storing events takes it and then (in the alarm hook) locks alarm rows, so taking them
 * in the other order would deadlock.
 */
export async function lockLiveFeed(tx: SqlExecutor): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [LIVE_FEED_LOCK_ID]);
}

/**
 * Appends to the live feed in the caller's transaction. The transaction-scoped advisory lock makes
 * writers take numbers in commit order: a reader that has seen number n never later finds a smaller
 * one committed, which is what lets a reconnecting console catch up without gaps.
 */
export async function appendToLiveFeed(tx: SqlExecutor, items: readonly { site: string; kind: LiveKind; payload: unknown }[]): Promise<void> {
  if (items.length === 0) return;
  await lockLiveFeed(tx);
  await tx.query(
    `INSERT INTO live_feed (site, kind, payload) SELECT s, k, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS t (s, k, p)`,
    [items.map((i) => i.site), items.map((i) => i.kind), items.map((i) => JSON.stringify(i.payload))],
  );
}

/** What came after `afterSeq`, oldest first. */
export async function readLiveFeed(db: SqlExecutor, afterSeq: number, limit: number): Promise<LiveItem[]> {
  return db.query<LiveItem>('SELECT seq, site, kind, payload FROM live_feed WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit]);
}

export async function lastLiveSeq(db: SqlExecutor): Promise<number> {
  const rows = await db.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM live_feed');
  return rows[0]?.seq ?? 0;
}
