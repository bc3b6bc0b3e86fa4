import { userInfo } from 'node:os';
import type { Command } from 'commander';

interface Common {
  config: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Opens the cloud's database from its config and runs `work` with the account services. */
async function withAccounts<T>(configFile: string, work: (ctx: Awaited<ReturnType<typeof open>>) => Promise<T>): Promise<T> {
  const ctx = await open(configFile);
  try {
    return await work(ctx);
  } finally {
    await ctx.db.close();
  }
}

async function open(configFile: string) {
  const cloud = await import('@gatehouse/cloud');
  const config = cloud.loadCloudConfig(configFile);
  const db = await cloud.openCloudDatabase(config.storage);
  const auth = cloud.createAuthServices(db, config.auth);
  // The audit names who did it from the command line.
  const actor = `cli:${userInfo().username}`;
  return { cloud, db, auth, actor };
}

function parseRoles(roles: string[], ROLES: readonly string[]): ('admin' | 'guard' | 'engineer' | 'facilities')[] {
  for (const r of roles) if (!ROLES.includes(r)) throw new Error(`unknown role "${r}": expected one of ${ROLES.join(', ')}`);
  return [...new Set(roles)] as ('admin' | 'guard' | 'engineer' | 'facilities')[];
}

function parseSites(sites: string[], allSites: boolean | undefined): string[] | '*' | undefined {
  if (allSites) return '*';
  return sites.length > 0 ? [...new Set(sites)] : undefined;
}

/** `gatehouse users …`: accounts from the command line, straight in the cloud's database (also when no admin can log in). */
export function registerUsersCommands(program: Command): void {
  const users = program
    .command('users')
    .description("manage console users, their roles, sites and API tokens in the cloud's database (the config's storage)")
    .addHelpText('after', '\nRoles: admin, guard, engineer, facilities. With PGlite storage, stop the cloud first (one process per embedded database).');

  users
    .command('list')
    .description('list users with roles, sites and lockouts')
    .requiredOption('-c, --config <file>', 'cloud config (YAML)')
    .option('--json', 'print JSON')
    .action(async (options: Common & { json?: boolean }) => {
      await withAccounts(options.config, async ({ auth }) => {
        const list = await auth.users.list();
        if (options.json) {
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        for (const u of list) {
          const locked = await auth.throttle.accountLockedUntil(u.username);
          process.stdout.write(
            `${u.username.padEnd(20)} ${u.roles.join(',').padEnd(28)} ${(u.sites === '*' ? 'all sites' : u.sites.join(',')).padEnd(24)}${u.disabled ? ' disabled' : ''}${locked ? ` locked until ${new Date(locked).toISOString()}` : ''}\n`,
          );
        }
      });
    });

  users
    .command('add <username>')
    .description('create a user; prints a generated password unless --password-stdin')
    .requiredOption('-c, --config <file>', 'cloud config (YAML)')
    .option('-r, --role <role>', 'a role (repeat for several)', collect, [])
    .option('-s, --site <site>', 'a site granted (repeat for several)', collect, [])
    .option('--all-sites', 'grant every site')
    .option('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, options: Common & { role: string[]; site: string[]; allSites?: boolean; name?: string; passwordStdin?: boolean }) => {
      await withAccounts(options.config, async ({ cloud, db, auth, actor }) => {
        const name = cloud.usernameSchema.safeParse(username);
        if (!name.success) throw new Error(`username "${username}": ${name.error.issues[0]?.message}`);
        const roles = parseRoles(options.role, cloud.ROLES);
        if (roles.length === 0) throw new Error('give at least one --role');
        const sites = parseSites(options.site, options.allSites);
        if (sites === undefined) throw new Error('give --site (repeatable) or --all-sites');
        const given = options.passwordStdin ? await readPasswordFromStdin() : undefined;
        const password = given ?? (await import('node:crypto')).randomBytes(12).toString('base64url');
        const checked = cloud.passwordSchema.safeParse(password);
        if (!checked.success) throw new Error(`password: ${checked.error.issues[0]?.message}`);
        await db.transaction(async (tx) => {
          if (!(await auth.users.create(tx, { username, displayName: options.name ?? null, password, roles, sites }))) throw new Error(`there is already a user ${username}`);
          await cloud.auditLog.append(tx, { actor, site: null, action: 'user.create', targetType: 'user', targetId: username, details: { roles, sites } });
        });
        process.stdout.write(`created ${username} (${roles.join(', ')}; ${sites === '*' ? 'all sites' : sites.join(', ')})\n`);
        if (given === undefined) process.stdout.write(`password: ${password}\n`);
      });
    });

  users
    .command('set <username>')
    .description("change a user's roles, sites, name, or disable / enable them")
    .requiredOption('-c, --config <file>', 'cloud config (YAML)')
    .option('-r, --role <role>', 'the roles (replace the current ones; repeat for several)', collect, [])
    .option('-s, --site <site>', 'the sites granted (replace the current ones; repeat)', collect, [])
    .option('--all-sites', 'grant every site')
    .option('--name <name>', 'display name')
    .option('--disable', 'disable the user (ends their sessions)')
    .option('--enable', 'enable the user')
    .action(async (username: string, options: Common & { role: string[]; site: string[]; allSites?: boolean; name?: string; disable?: boolean; enable?: boolean }) => {
      await withAccounts(options.config, async ({ cloud, db, auth, actor }) => {
        const changes = {
          ...(options.role.length > 0 ? { roles: parseRoles(options.role, cloud.ROLES) } : {}),
          ...(parseSites(options.site, options.allSites) !== undefined ? { sites: parseSites(options.site, options.allSites)! } : {}),
          ...(options.name !== undefined ? { displayName: options.name } : {}),
          ...(options.disable ? { disabled: true } : options.enable ? { disabled: false } : {}),
        };
        await db.transaction(async (tx) => {
          if (!(await auth.users.update(tx, username, changes))) throw new Error(`no user ${username}`);
          await cloud.auditLog.append(tx, { actor, site: null, action: 'user.update', targetType: 'user', targetId: username, details: changes });
        });
        process.stdout.write(`updated ${username}\n`);
      });
    });

  users
    .command('passwd <username>')
    .description("set a user's password (ends their sessions); prints a generated one unless --password-stdin")
    .requiredOption('-c, --config <file>', 'cloud config (YAML)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, options: Common & { passwordStdin?: boolean }) => {
      await withAccounts(options.config, async ({ cloud, db, auth, actor }) => {
        const given = options.passwordStdin ? await readPasswordFromStdin() : undefined;
        const password = given ?? (await import('node:crypto')).randomBytes(12).toString('base64url');
        const checked = cloud.passwordSchema.safeParse(password);
        if (!checked.success) throw new Error(`password: ${checked.error.issues[0]?.message}`);
        await db.transaction(async (tx) => {
          if (!(await auth.users.update(tx, username, { password }))) throw new Error(`no user ${username}`);
          await cloud.auditLog.append(tx, { actor, site: null, action: 'user.password', targetType: 'user', targetId: username });
        });
        await auth.throttle.unlock(username);
        process.stdout.write(`password of ${username} set${given === undefined ? `: ${password}` : ''}\n`);
      });
    });

  users
    .command('unlock <username>')
    .description("lift a user's login lockouts")
    .requiredOption('-c, --config <file>', 'cloud config (YAML)')
    .action(async (username: string, options: Common) => {
      await withAccounts(options.config, async ({ cloud, db, auth, actor }) => {
        if (!(await auth.users.get(username))) throw new Error(`no user ${username}`);
        await auth.throttle.unlock(username);
        await db.transaction((tx) => cloud.auditLog.append(tx, { actor, site: null, action: 'user.unlock', targetType: 'user', targetId: username }));
        process.stdout.write(`unlocked ${username}\n`);
      });
    });

  users
    .command('token <username>')
    .description('create an API token for a user (roles and sites within theirs); prints it once')
    .requiredOption('-c, --config <file>', 'cloud config (YAML)')
    .requiredOption('--name <name>', 'what the token is for, e.g. grafana')
    .option('-r, --role <role>', "a role (repeat); default: the user's roles", collect, [])
    .option('-s, --site <site>', "a site (repeat); default: the user's sites", collect, [])
    .option('--days <n>', 'days until it expires', '90')
    .action(async (username: string, options: Common & { name: string; role: string[]; site: string[]; days: string }) => {
      await withAccounts(options.config, async ({ cloud, db, auth, actor }) => {
        const user = await auth.users.get(username);
        if (!user) throw new Error(`no user ${username}`);
        const roles = options.role.length > 0 ? parseRoles(options.role, cloud.ROLES) : user.roles;
        const extra = roles.filter((r) => !user.roles.includes(r));
        if (extra.length > 0) throw new Error(`${username} does not hold ${extra.join(', ')}`);
        const sites = options.site.length > 0 ? options.site : user.sites;
        if (user.sites !== '*' && (sites === '*' || sites.some((s) => !(user.sites as string[]).includes(s)))) throw new Error(`${username} is granted only ${user.sites.join(', ')}`);
        const days = Number(options.days);
        if (!Number.isInteger(days) || days < 1 || days > 366) throw new Error(`--days: expected 1-366, got "${options.days}"`);
        const made = await db.transaction(async (tx) => {
          const created = await auth.tokens.create(tx, username, { name: options.name, roles, sites, expiresAt: Date.now() + days * 86_400_000 });
          await cloud.auditLog.append(tx, { actor, site: null, action: 'token.create', targetType: 'token', targetId: created.stored.id, details: { name: options.name, owner: username, roles, sites, days } });
          return created;
        });
        process.stdout.write(`token ${made.stored.id} for ${username}, expires ${new Date(made.stored.expiresAt).toISOString()}:\n${made.token}\n`);
      });
    });

  users
    .command('revoke-token <id>')
    .description('revoke an API token')
    .requiredOption('-c, --config <file>', 'cloud config (YAML)')
    .action(async (id: string, options: Common) => {
      await withAccounts(options.config, async ({ cloud, db, auth, actor }) => {
        const revoked = await db.transaction(async (tx) => {
          const done = await auth.tokens.revoke(tx, id);
          if (done) await cloud.auditLog.append(tx, { actor, site: null, action: 'token.revoke', targetType: 'token', targetId: id });
          return done;
        });
        if (!revoked) throw new Error(`no active token ${id}`);
        process.stdout.write(`revoked ${id}\n`);
      });
    });
}
