import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The compiled command, as `npx gatehouse` runs it (npm test builds it first).
const BIN = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('gatehouse command', () => {
  it.each([[[]], [['demo']], [['edge']], [['cloud']], [['sim']]])('prints help for %j', (args) => {
    const result = run([...args, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: gatehouse');
  });

  it('refuses a bad config file, naming the file, the path and what was expected', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gh-cli-')), 'cloud.yaml');
    writeFileSync(file, 'http:\n  port: eighty\nstorage:\n  kind: sqlite\n');
    const result = run(['cloud', '--config', file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `invalid config ${file}:\n` +
        '  - http.port (line 2): Invalid input: expected number, received string\n' +
        "  - storage.kind (line 4): Invalid discriminator value. Expected 'pglite' | 'postgres'\n",
    );
  });

  it('refuses a missing config file', () => {
    const result = run(['edge', '--config', '/nonexistent/edge.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('invalid config /nonexistent/edge.yaml:\n  - (file): cannot be read: ENOENT\n');
  });
});

describe('gatehouse demo (site in a box)', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  interface Demo {
    child: ChildProcess;
    api: string;
    exited: Promise<number | null>;
    /** the logins the demo printed: username → password */
    logins: Map<string, string>;
  }

  function startDemo(dataDir: string): Promise<Demo> {
    const child = spawn(process.execPath, [BIN, 'demo', '--data-dir', dataDir, '--port', '0', '--mqtt-port', '0', '--gateway-port', '0', '--modbus-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/health/.exec(out);
        if (match?.[1] && out.includes('Press Ctrl-C to stop.')) {
          const logins = new Map([...out.matchAll(/^ {4}(\S+)\s+password (\S+)/gm)].map((m) => [m[1]!, m[2]!]));
          resolve({ child, api: `${match[1]}/api/v1`, exited, logins });
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      void exited.then((code) => reject(new Error(`demo exited with ${code} before it was up:\n${out}`)));
    });
  }

  /** Logs in as the console does: the session cookie and the CSRF token. */
  async function logIn(demo: Demo, username: string): Promise<{ cookie: string; csrf: string }> {
    const res = await fetch(`${demo.api}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: demo.logins.get(username) }) });
    expect(res.status).toBe(200);
    const cookie = /gh_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
    return { cookie, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
  }

  async function energySeries(demo: Demo): Promise<{ ts: number; value: number }[]> {
    const { cookie } = await logIn(demo, 'engineer.wang');
    const res = await fetch(`${demo.api}/series?site=demo-site&device=b1-main&metric=import_energy&from=0&step=raw`, { headers: { cookie } });
    // 404 until the meter's first energy reading is stored: the metric is not known before.
    if (res.status === 404) return [];
    return ((await res.json()) as { points: { ts: number; value: number }[] }).points;
  }

  async function waitForPoints(demo: Demo, atLeast: number): Promise<{ ts: number; value: number }[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const points = await energySeries(demo);
      if (points.length >= atLeast) return points;
      if (Date.now() > deadline) throw new Error(`only ${points.length} readings after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('runs, stops cleanly on Ctrl-C, and carries on with its stored data when started again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gh-demo-'));

    const first = await startDemo(dataDir);
    expect(((await (await fetch(`${first.api}/health`)).json()) as { status: string }).status).toBe('ok');
    // It printed a login per role, and the console answers at /.
    expect([...first.logins.keys()].sort()).toEqual(['admin', 'engineer.wang', 'facilities.zhao', 'guard.li']);
    expect((await fetch(first.api.replace('/api/v1', '/'))).headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${first.api}/devices`)).status).toBe(401);
    const before = await waitForPoints(first, 2);
    // The doors and cameras are there too: a guard can open the lobby door (OSDP, secure channel).
    const guard = await logIn(first, 'guard.li');
    const devices = ((await (await fetch(`${first.api}/devices?site=demo-site`, { headers: { cookie: guard.cookie } })).json()) as { devices: { id: string; kind: string }[] }).devices;
    expect(devices.filter((d) => d.kind !== 'meter').map((d) => [d.id, d.kind]).sort()).toEqual([
      ['cam-carpark', 'camera'],
      ['cam-lobby', 'camera'],
      ['door-lobby', 'access_panel'],
      ['gate-carpark', 'access_panel'],
    ]);
    const opened = await fetch(`${first.api}/sites/demo-site/doors/door-lobby/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: guard.cookie, 'x-csrf-token': guard.csrf },
      body: JSON.stringify({ action: 'open' }),
    });
    expect(await opened.json()).toMatchObject({ status: 'ok', detail: 'strike released for 5 s', issuedBy: 'guard.li' });
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = await startDemo(dataDir);
    // The same logins as the first time.
    expect(second.logins).toEqual(first.logins);
    // A second demo on the same folder is refused before it starts anything, naming the first.
    const clash = spawnSync(process.execPath, [BIN, 'demo', '--data-dir', dataDir, '--port', '0', '--mqtt-port', '0', '--gateway-port', '0', '--modbus-port', '0'], { encoding: 'utf8', timeout: 30_000 });
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain(`gatehouse: data folder ${dataDir} is in use by the demo site (process ${second.child.pid})`);
    const after = await waitForPoints(second, before.length + 2);
    // The readings stored by the first run are still there, and new ones follow them.
    expect(after.slice(0, before.length)).toEqual(before);
    const lastBefore = before[before.length - 1]!;
    const firstNew = after[before.length]!;
    expect(firstNew.ts).toBeGreaterThan(lastBefore.ts);
    // The simulated meter kept its energy register across the restart, as a real one does.
    expect(firstNew.value).toBeGreaterThanOrEqual(lastBefore.value);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });
});

describe('gatehouse demo: ports', () => {
  it('checks every port before starting anything and names the option for each one taken', async () => {
    // Two ports held by "another program".
    const holders = await Promise.all([0, 1].map(() => new Promise<Server>((resolve) => { const server = createServer(); server.listen(0, '127.0.0.1', () => resolve(server)); })));
    const [httpPort, mqttPort] = holders.map((h) => (h.address() as AddressInfo).port);
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'gh-demo-ports-'));
      const result = spawnSync(process.execPath, [BIN, 'demo', '--data-dir', dataDir, '--port', String(httpPort), '--mqtt-port', String(mqttPort), '--gateway-port', '0', '--modbus-port', '0'], { encoding: 'utf8', timeout: 30_000 });
      expect(result.status).toBe(2);
      expect(result.stderr).toBe(
        'gatehouse: cannot start the demo:\n' +
          `  port ${httpPort} on 127.0.0.1 (--port) is taken by another program\n` +
          `  port ${mqttPort} on 127.0.0.1 (--mqtt-port) is taken by another program\n` +
          'Give each another port (0 picks a free one), e.g. npm start -- --port 0 --mqtt-port 0\n',
      );
      // Nothing was started: no database, no lock left behind.
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      for (const h of holders) h.close();
    }
  });
});

describe('gatehouse users', () => {
  it('manages users and tokens in the cloud database, every change in the audit log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-users-'));
    const config = join(dir, 'cloud.yaml');
    writeFileSync(config, `storage:\n  kind: pglite\n  dataDir: ${join(dir, 'pglite')}\nembeddedBroker: { port: 0 }\n`);
    const added = run(['users', 'add', 'guard.li', '--config', config, '--role', 'guard', '--site', 'demo-site', '--name', '李保安']);
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/^created guard\.li \(guard; demo-site\)\npassword: \S{16}\n$/);
    expect(run(['users', 'add', 'guard.li', '--config', config, '--role', 'guard', '--all-sites'])).toMatchObject({ status: 2, stderr: 'gatehouse: there is already a user guard.li\n' });
    expect(run(['users', 'add', 'x', '--config', config, '--role', 'janitor', '--all-sites'])).toMatchObject({ status: 2, stderr: expect.stringContaining('username "x"') });
    expect(run(['users', 'add', 'new.one', '--config', config, '--role', 'janitor', '--all-sites'])).toMatchObject({ status: 2, stderr: 'gatehouse: unknown role "janitor": expected one of admin, guard, engineer, facilities\n' });
    expect(run(['users', 'set', 'guard.li', '--config', config, '--role', 'guard', '--role', 'facilities'])).toMatchObject({ status: 0, stdout: 'updated guard.li\n' });
    const token = run(['users', 'token', 'guard.li', '--config', config, '--name', 'bms', '--days', '30']);
    expect(token.stdout).toMatch(/^token [0-9a-f-]{36} for guard\.li, expires .+:\ngh_\S{43}\n$/);
    expect(run(['users', 'token', 'guard.li', '--config', config, '--name', 'x', '--role', 'admin']).stderr).toBe('gatehouse: guard.li does not hold admin\n');
    const tokenId = /^token (\S+)/.exec(token.stdout)![1]!;
    expect(run(['users', 'revoke-token', tokenId, '--config', config]).stdout).toBe(`revoked ${tokenId}\n`);
    expect(run(['users', 'unlock', 'guard.li', '--config', config]).stdout).toBe('unlocked guard.li\n');
    const listed = JSON.parse(run(['users', 'list', '--config', config, '--json']).stdout) as { username: string; roles: string[]; sites: unknown; displayName: string }[];
    expect(listed).toEqual([expect.objectContaining({ username: 'guard.li', displayName: '李保安', roles: ['guard', 'facilities'], sites: ['demo-site'] })]);
    // The first admin is not made by the command line: only users it was told to add exist.
    const { createPgliteClient } = await import('@gatehouse/cloud');
    const db = await createPgliteClient(join(dir, 'pglite'));
    const audit = await db.query<{ action: string; actor: string }>('SELECT action, actor FROM audit_log ORDER BY id');
    await db.close();
    expect(audit.map((a) => a.action)).toEqual(['user.create', 'user.update', 'token.create', 'token.revoke', 'user.unlock']);
    expect(new Set(audit.map((a) => a.actor)).size).toBe(1);
    expect(audit[0]!.actor).toMatch(/^cli:/);
  }, 60_000);
});
