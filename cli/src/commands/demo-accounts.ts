import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { RunningCloud } from '@gatehouse/cloud';

/** One account per role, so that a newcomer can try the console as each kind of user. */
const DEMO_USERS = [
  { username: 'admin', displayName: 'Administrator', roles: ['admin'] as const, what: 'users, tokens, everything' },
  { username: 'guard.li', displayName: '李保安 (Li, night guard)', roles: ['guard'] as const, what: 'alarm queue, doors, cameras, events' },
  { username: 'engineer.wang', displayName: '王工 (Wang, engineer)', roles: ['engineer'] as const, what: 'energy, alarms read-only' },
  { username: 'facilities.zhao', displayName: '赵师傅 (Zhao, facilities)', roles: ['facilities'] as const, what: 'facilities, alarms read-only' },
];

export interface DemoAccount {
  username: string;
  password: string;
  roles: readonly string[];
  what: string;
}

/**
 * Creates the demo's accounts on first start with generated passwords, kept in the data folder
 * (readable by its owner only) so that every start prints the same logins.
 */
export async function ensureDemoAccounts(cloud: RunningCloud, file: string, adminPassword: string | undefined): Promise<DemoAccount[]> {
  // Loaded here, not at the top: only the demo needs the cloud's code.
  const { auditLog } = await import('@gatehouse/cloud');
  const known = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const accounts: DemoAccount[] = [];
  for (const user of DEMO_USERS) {
    let password = known[user.username] ?? (user.username === 'admin' ? adminPassword : undefined);
    const exists = (await cloud.auth.users.get(user.username)) !== undefined;
    if (exists && password !== undefined) {
      accounts.push({ username: user.username, password, roles: user.roles, what: user.what });
      continue;
    }
    password = randomBytes(9).toString('base64url');
    await cloud.db.transaction(async (tx) => {
      // A demo account whose password was lost with the file gets a new one.
      if (exists) await cloud.auth.users.update(tx, user.username, { password });
      else await cloud.auth.users.create(tx, { username: user.username, displayName: user.displayName, password: password!, roles: [...user.roles], sites: '*' });
      await auditLog.append(tx, { actor: 'system', site: null, action: exists ? 'user.password' : 'user.create', targetType: 'user', targetId: user.username, details: { demo: true } });
    });
    accounts.push({ username: user.username, password, roles: user.roles, what: user.what });
  }
  writeFileSync(file, `${JSON.stringify(Object.fromEntries(accounts.map((a) => [a.username, a.password])), null, 2)}\n`, { mode: 0o600 });
  return accounts;
}
