import type { SqlClient } from './sql-client.js';

export interface DeadLetter {
  id: number;
  receivedAt: number;
  topic: string;
  reason: string;
  size: number;
}

/** Messages the cloud could not accept, kept with the reason so an operator can see what went wrong. */
export class DeadLetterStore {
  constructor(private readonly db: SqlClient) {}

  async add(topic: string, reason: string, payload: Buffer): Promise<void> {
    await this.db.query('INSERT INTO dead_letters (topic, reason, payload) VALUES ($1, $2, $3)', [topic, reason, payload]);
  }

  async list(limit: number): Promise<DeadLetter[]> {
    return this.db.query<DeadLetter>(
      `SELECT id::float8 AS id, (extract(epoch from received_at) * 1000)::float8 AS "receivedAt", topic, reason,
              coalesce(octet_length(payload), 0) AS size
         FROM dead_letters ORDER BY id DESC LIMIT $1`,
      [limit],
    );
  }
}
