import type { SqlClient } from '../storage/sql-client.js';

export interface LoginThrottlePolicy {
  /** failed logins to one account from one address before that pair is locked */
  perAccountAndAddress: number;
  /** failed logins from one address (whatever the accounts) before the address is refused */
  perAddress: number;
  /** the window failures are counted in, and how long a lock lasts after the last counted failure */
  windowMinutes: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = { perAccountAndAddress: 5, perAddress: 20, windowMinutes: 15 };

/**
 * Rate-limits password guessing, in the database so that every cloud instance sees the same counts.
 * An account is locked per client address and only for a while: someone guessing the admin's password
 * from one place locks themselves out there, not the admin everywhere, and never for ever.
 */
export class LoginThrottle {
  constructor(
    private readonly db: SqlClient,
    private readonly policy: LoginThrottlePolicy = DEFAULT_LOGIN_THROTTLE,
  ) {}

  /**
   * When the next attempt may be made (epoch ms), or undefined when it may be made now. `pending`:
   * attempts already recorded as failures before their password was checked (see recordAttempt).
   */
  async lockedUntil(username: string, address: string, pending = 0): Promise<number | undefined> {
    const rows = await this.db.query<{ pair: number; addr: number; pairUntil: number | null; addrUntil: number | null }>(
      `SELECT count(*) FILTER (WHERE username = $1)::int AS pair, count(*)::int AS addr,
              (extract(epoch from max(at) FILTER (WHERE username = $1) + make_interval(mins => $3)) * 1000)::float8 AS "pairUntil",
              (extract(epoch from max(at) + make_interval(mins => $3)) * 1000)::float8 AS "addrUntil"
         FROM login_failures WHERE address = $2 AND at > now() - make_interval(mins => $3)`,
      [username, address, this.policy.windowMinutes],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.addr - pending >= this.policy.perAddress && row.addrUntil) return row.addrUntil;
    if (row.pair - pending >= this.policy.perAccountAndAddress && row.pairUntil) return row.pairUntil;
    return undefined;
  }

  /**
   * Records an attempt as a failure before its password is checked (a success then forgets it): many
   * guesses sent at once each count against the ones after them, instead of all passing the check
   * before any of them is recorded.
   */
  async recordAttempt(username: string, address: string): Promise<void> {
    await this.recordFailure(username, address);
  }

  async recordFailure(username: string, address: string): Promise<void> {
    await this.db.execute('INSERT INTO login_failures (username, address) VALUES ($1, $2)', [username, address]);
  }

  /** A successful login forgets that pair's failures. */
  async recordSuccess(username: string, address: string): Promise<void> {
    await this.db.execute('DELETE FROM login_failures WHERE username = $1 AND address = $2', [username, address]);
  }

  /** Lifts every lock on an account (an admin's unlock). */
  async unlock(username: string): Promise<void> {
    await this.db.execute('DELETE FROM login_failures WHERE username = $1', [username]);
  }

  /** The latest lock on an account from any address, for the users list. */
  async accountLockedUntil(username: string): Promise<number | null> {
    const rows = await this.db.query<{ until: number | null }>(
      `SELECT (extract(epoch from max(at) + make_interval(mins => $3)) * 1000)::float8 AS until FROM (
         SELECT address, max(at) AS at FROM login_failures WHERE username = $1 AND at > now() - make_interval(mins => $3)
          GROUP BY address HAVING count(*) >= $2) locked`,
      [username, this.policy.perAccountAndAddress, this.policy.windowMinutes],
    );
    return rows[0]?.until ?? null;
  }

  async purge(): Promise<number> {
    return this.db.execute(`DELETE FROM login_failures WHERE at < now() - make_interval(mins => $1)`, [this.policy.windowMinutes * 2]);
  }
}
