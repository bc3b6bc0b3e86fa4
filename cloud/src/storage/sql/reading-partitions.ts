import type { SqlClient } from '../sql-client.js';

/** `readings_p2026_11` holds November 2026 (UTC). */
export function partitionName(monthStart: number): string {
  const d = new Date(monthStart);
  return `readings_p${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function monthStartUtc(ts: number): number {
  const d = new Date(ts);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function nextMonthUtc(monthStart: number): number {
  const d = new Date(monthStart);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

const NAME = /^readings_p(\d{4})_(\d{2})$/;

/**
 * The monthly partitions of `readings`: created before a write that needs them (cached, so the hot path
 * costs a Set lookup), and dropped whole by retention.
 */
export class ReadingPartitions {
  private readonly known = new Set<number>();

  constructor(private readonly db: SqlClient) {}

  async ensureFor(timestamps: Iterable<number>): Promise<void> {
    const months = new Set<number>();
    for (const ts of timestamps) {
      const month = monthStartUtc(ts);
      if (!this.known.has(month)) months.add(month);
    }
    for (const month of months) {
      try {
        await this.db.query(
          `CREATE TABLE IF NOT EXISTS ${partitionName(month)} PARTITION OF readings
             FOR VALUES FROM ('${new Date(month).toISOString()}') TO ('${new Date(nextMonthUtc(month)).toISOString()}')`,
        );
      } catch (err) {
        // Another cloud instance created it between our check and our CREATE: that is what we wanted.
        if ((err as { code?: string }).code !== '42P07' && (err as { code?: string }).code !== '23505') throw err;
      }
      this.known.add(month);
    }
  }

  async list(): Promise<{ name: string; from: number; to: number }[]> {
    const rows = await this.db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass`,
    );
    return rows.flatMap(({ name }) => {
      const m = NAME.exec(name);
      if (!m) return [];
      const from = Date.UTC(Number(m[1]), Number(m[2]) - 1, 1);
      return [{ name, from, to: nextMonthUtc(from) }];
    }).sort((a, b) => a.from - b.from);
  }

  /** Drops every partition that ends at or before `before`; returns the readings they held. */
  async dropBefore(before: number): Promise<number> {
    let dropped = 0;
    for (const p of await this.list()) {
      if (p.to > before) continue;
      const rows = await this.db.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${p.name}`);
      await this.db.query(`DROP TABLE ${p.name}`);
      this.known.delete(p.from);
      dropped += rows[0]?.n ?? 0;
    }
    return dropped;
  }
}
