import { z } from 'zod';
import type { SqlClient, SqlExecutor } from '../storage/sql-client.js';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js';
import { ROLES, type Role } from './roles.js';

export const usernameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'expected 2-64 characters: lower-case letters, digits, dot, dash, underscore')
  .meta({ example: 'guard.li' });
export const passwordSchema = z.string().min(PASSWORD_MIN_LENGTH, `expected at least ${PASSWORD_MIN_LENGTH} characters`).max(PASSWORD_MAX_LENGTH);
export const rolesSchema = z.array(z.enum(ROLES)).min(1).max(ROLES.length).transform((roles) => [...new Set(roles)]);
/** Site ids, or '*' for every site. */
export const sitesSchema = z.union([z.literal('*'), z.array(z.string().min(1).max(64)).max(1000).transform((s) => [...new Set(s)])]);
export const displayNameSchema = z.string().trim().min(1).max(128);

export interface StoredUser {
  username: string;
  displayName: string | null;
  roles: Role[];
  sites: string[] | '*';
  disabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
}

export interface NewUser {
  username: string;
  displayName?: string | null;
  password: string;
  roles: Role[];
  sites: string[] | '*';
}

export interface UserChanges {
  displayName?: string | null;
  roles?: Role[];
  sites?: string[] | '*';
  disabled?: boolean;
  password?: string;
}

const toDbSites = (sites: readonly string[] | '*') => (sites === '*' ? ['*'] : [...sites]);
export const fromDbSites = (sites: readonly string[]): string[] | '*' => (sites.includes('*') ? '*' : [...sites]);

const SELECT = `SELECT username, display_name AS "displayName", roles, sites, disabled,
  (extract(epoch from created_at) * 1000)::float8 AS "createdAt", (extract(epoch from last_login_at) * 1000)::float8 AS "lastLoginAt" FROM users`;

type Row = Omit<StoredUser, 'sites'> & { sites: string[] };
const fromRow = (row: Row): StoredUser => ({ ...row, roles: row.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r)), sites: fromDbSites(row.sites) });

/** Users, their roles and granted sites. Passwords are stored as Argon2id hashes only. */
export class UserStore {
  constructor(private readonly db: SqlClient) {}

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    return rows[0]?.n ?? 0;
  }

  async get(username: string, tx: SqlExecutor = this.db): Promise<StoredUser | undefined> {
    const rows = await tx.query<Row>(`${SELECT} WHERE username = $1`, [username]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async passwordHash(username: string): Promise<{ hash: string; disabled: boolean } | undefined> {
    const rows = await this.db.query<{ hash: string; disabled: boolean }>('SELECT password_hash AS hash, disabled FROM users WHERE username = $1', [username]);
    return rows[0];
  }

  async list(): Promise<StoredUser[]> {
    return (await this.db.query<Row>(`${SELECT} ORDER BY username`)).map(fromRow);
  }

  /** Creates a user; false if the username is taken. */
  async create(tx: SqlExecutor, user: NewUser): Promise<boolean> {
    const passwordHash = await hashPassword(user.password);
    const n = await tx.execute(
      `INSERT INTO users (username, display_name, password_hash, roles, sites) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING`,
      [user.username, user.displayName ?? null, passwordHash, user.roles, toDbSites(user.sites)],
    );
    return n === 1;
  }

  /** Applies changes; false if there is no such user. A new password or disabling ends the user's sessions; a new password also revokes their API tokens. */
  async update(tx: SqlExecutor, username: string, changes: UserChanges): Promise<boolean> {
    const sets: string[] = [];
    const params: unknown[] = [username];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (changes.displayName !== undefined) set('display_name', changes.displayName);
    if (changes.roles !== undefined) set('roles', changes.roles);
    if (changes.sites !== undefined) set('sites', toDbSites(changes.sites));
    if (changes.disabled !== undefined) set('disabled', changes.disabled);
    if (changes.password !== undefined) {
      set('password_hash', await hashPassword(changes.password));
      sets.push('password_changed_at = now()');
    }
    if (sets.length === 0) return (await this.get(username, tx)) !== undefined;
    const n = await tx.execute(`UPDATE users SET ${sets.join(', ')} WHERE username = $1`, params);
    if (n === 1 && (changes.password !== undefined || changes.disabled === true)) {
      await tx.execute('UPDATE sessions SET revoked_at = now() WHERE username = $1 AND revoked_at IS NULL', [username]);
    }
    // Whoever held a stolen session may have made a token with it: a new password revokes them too.
    if (n === 1 && changes.password !== undefined) {
      await tx.execute('UPDATE api_tokens SET revoked_at = now() WHERE username = $1 AND revoked_at IS NULL', [username]);
    }
    return n === 1;
  }

  async recordLogin(username: string): Promise<void> {
    await this.db.execute('UPDATE users SET last_login_at = now() WHERE username = $1', [username]);
  }
}
