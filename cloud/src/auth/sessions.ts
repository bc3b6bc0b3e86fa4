import type { SqlClient, SqlExecutor } from '../storage/sql-client.js';
import { newSecret, sha256 } from './secrets.js';
import { fromDbSites } from './user-store.js';
import type { Principal, Role } from './roles.js';
import { ROLES } from './roles.js';

export interface SessionPolicy {
  /** a session unused for this long ends (a guard's shift with breaks) */
  idleMinutes: number;
  /** and every session ends this long after login, used or not */
  maxHours: number;
}

/** Console sessions. The browser holds a random id in an HttpOnly cookie; the table holds its SHA-256. */
export class SessionStore {
  constructor(
    private readonly db: SqlClient,
    private readonly policy: SessionPolicy,
  ) {}

  async create(username: string, client: { address: string; userAgent: string | undefined }, tx: SqlExecutor = this.db): Promise<{ id: string; csrfToken: string; expiresAt: number }> {
    const id = newSecret();
    const csrfToken = newSecret();
    const expiresAt = Date.now() + this.policy.idleMinutes * 60_000;
    await tx.execute(
      `INSERT INTO sessions (id_hash, username, csrf_token, expires_at, address, user_agent) VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), $5, $6)`,
      [sha256(id), username, csrfToken, expiresAt, client.address, client.userAgent?.slice(0, 256) ?? null],
    );
    return { id, csrfToken, expiresAt };
  }

  /** The principal of a live session, extending its idle deadline; undefined when unknown, expired, revoked or its user disabled. */
  async resolve(id: string): Promise<Principal | undefined> {
    const rows = await this.db.query<{ username: string; displayName: string | null; roles: string[]; sites: string[]; csrfToken: string; refresh: boolean }>(
      `SELECT u.username, u.display_name AS "displayName", u.roles, u.sites, s.csrf_token AS "csrfToken",
              s.last_seen_at < now() - interval '1 minute' AS refresh
         FROM sessions s JOIN users u ON u.username = s.username
        WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
          AND s.created_at > now() - make_interval(hours => $2) AND NOT u.disabled`,
      [sha256(id), this.policy.maxHours],
    );
    const row = rows[0];
    if (!row) return undefined;
    // Sliding idle deadline, written at most once a minute per session.
    if (row.refresh) {
      await this.db.execute(`UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(mins => $2) WHERE id_hash = $1`, [sha256(id), this.policy.idleMinutes]);
    }
    return {
      kind: 'session',
      username: row.username,
      displayName: row.displayName,
      roles: row.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r)),
      sites: fromDbSites(row.sites),
      csrfToken: row.csrfToken,
    };
  }

  async revoke(id: string): Promise<void> {
    await this.db.execute('UPDATE sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL', [sha256(id)]);
  }

  /** Forgets sessions that ended more than a day ago. */
  async purge(): Promise<number> {
    return this.db.execute(`DELETE FROM sessions WHERE expires_at < now() - interval '1 day' OR revoked_at < now() - interval '1 day'`);
  }
}
