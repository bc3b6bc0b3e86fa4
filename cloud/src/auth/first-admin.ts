import type { SqlClient } from '../storage/sql-client.js';
import { auditLog } from '../audit/audit-log.js';
import { generatePassword } from './secrets.js';
import type { UserStore } from './user-store.js';
import { PASSWORD_MIN_LENGTH } from './passwords.js';

export const FIRST_ADMIN_USERNAME = 'admin';

/**
 * On a database without users, creates the admin: with GATEHOUSE_ADMIN_PASSWORD when set, else with a
 * generated password that is returned to be shown once (it is stored only as a hash).
 */
export async function ensureFirstAdmin(db: SqlClient, users: UserStore, env: NodeJS.ProcessEnv = process.env): Promise<{ username: string; generatedPassword?: string } | undefined> {
  if ((await users.count()) > 0) return undefined;
  const given = env.GATEHOUSE_ADMIN_PASSWORD;
  if (given !== undefined && given.length < PASSWORD_MIN_LENGTH) throw new Error(`GATEHOUSE_ADMIN_PASSWORD: expected at least ${PASSWORD_MIN_LENGTH} characters`);
  const password = given ?? generatePassword();
  const created = await db.transaction(async (tx) => {
    const made = await users.create(tx, { username: FIRST_ADMIN_USERNAME, displayName: 'Administrator', password, roles: ['admin'], sites: '*' });
    if (made) await auditLog.append(tx, { actor: 'system', site: null, action: 'user.create', targetType: 'user', targetId: FIRST_ADMIN_USERNAME, details: { roles: ['admin'], sites: '*', firstStart: true } });
    return made;
  });
  // Another instance starting at the same moment made it first.
  if (!created) return undefined;
  return given === undefined ? { username: FIRST_ADMIN_USERNAME, generatedPassword: password } : { username: FIRST_ADMIN_USERNAME };
}
