import { randomUUID } from 'node:crypto';
import type { SqlClient, SqlExecutor } from '../storage/sql-client.js';
import { newSecret, sha256 } from './secrets.js';
import { fromDbSites } from './user-store.js';
import { ROLES, type Principal, type Role } from './roles.js';

/** API tokens start with this, so that a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = 'gh_';

export interface StoredToken {
  id: string;
  name: string;
  username: string;
  roles: Role[];
  sites: string[] | '*';
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

const SELECT = `SELECT id, name, username, roles, sites, (extract(epoch from created_at) * 1000)::float8 AS "createdAt",
  (extract(epoch from expires_at) * 1000)::float8 AS "expiresAt", (extract(epoch from revoked_at) * 1000)::float8 AS "revokedAt",
  (extract(epoch from last_used_at) * 1000)::float8 AS "lastUsedAt" FROM api_tokens`;

const onlyRoles = (roles: readonly string[]) => roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r));

/** Bearer tokens for scripts and integrations: scoped to roles and sites, expiring, revocable, stored hashed. */
export class ApiTokenStore {
  constructor(private readonly db: SqlClient) {}

  async create(tx: SqlExecutor, owner: string, spec: { name: string; roles: Role[]; sites: string[] | '*'; expiresAt: number }): Promise<{ token: string; stored: StoredToken }> {
    const id = randomUUID();
    const token = `${TOKEN_PREFIX}${newSecret()}`;
    await tx.execute(
      `INSERT INTO api_tokens (id, name, token_hash, username, roles, sites, expires_at) VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7 / 1000.0))`,
      [id, spec.name, sha256(token), owner, spec.roles, spec.sites === '*' ? ['*'] : spec.sites, spec.expiresAt],
    );
    const stored = (await this.get(id, tx))!;
    return { token, stored };
  }

  async get(id: string, tx: SqlExecutor = this.db): Promise<StoredToken | undefined> {
    const rows = await tx.query<Omit<StoredToken, 'sites'> & { sites: string[] }>(`${SELECT} WHERE id = $1`, [id]);
    const row = rows[0];
    return row ? { ...row, roles: onlyRoles(row.roles), sites: fromDbSites(row.sites) } : undefined;
  }

  async list(owner: string | undefined): Promise<StoredToken[]> {
    const rows = await this.db.query<Omit<StoredToken, 'sites'> & { sites: string[] }>(`${SELECT} WHERE $1::text IS NULL OR username = $1 ORDER BY created_at DESC`, [owner ?? null]);
    return rows.map((row) => ({ ...row, roles: onlyRoles(row.roles), sites: fromDbSites(row.sites) }));
  }

  async revoke(tx: SqlExecutor, id: string): Promise<boolean> {
    return (await tx.execute('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id])) === 1;
  }

  /**
   * The principal of a valid token: its roles and sites narrowed to what its owner holds now (a token
   * never outlives its owner's grants); undefined when unknown, expired, revoked or its owner disabled.
   */
  async resolve(token: string): Promise<Principal | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return undefined;
    const rows = await this.db.query<{ id: string; username: string; displayName: string | null; tokenRoles: string[]; tokenSites: string[]; userRoles: string[]; userSites: string[]; touch: boolean }>(
      `SELECT t.id, u.username, u.display_name AS "displayName", t.roles AS "tokenRoles", t.sites AS "tokenSites",
              u.roles AS "userRoles", u.sites AS "userSites", (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS touch
         FROM api_tokens t JOIN users u ON u.username = t.username
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND NOT u.disabled`,
      [sha256(token)],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.touch) await this.db.execute('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [row.id]);
    const userSites = fromDbSites(row.userSites);
    const tokenSites = fromDbSites(row.tokenSites);
    const sites = userSites === '*' ? tokenSites : tokenSites === '*' ? userSites : tokenSites.filter((s) => userSites.includes(s));
    return {
      kind: 'token',
      tokenId: row.id,
      username: row.username,
      displayName: row.displayName,
      roles: onlyRoles(row.tokenRoles).filter((r) => row.userRoles.includes(r)),
      sites,
    };
  }
}
