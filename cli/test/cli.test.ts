import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

  function startDemo(dataDir: string): Promise<{ child: ChildProcess; api: string; exited: Promise<number | null> }> {
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
        const match = /HTTP API\s+(http:\/\/localhost:\d+)\/api\/v1\/health/.exec(out);
        if (match?.[1]) resolve({ child, api: `${match[1]}/api/v1`, exited });
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      void exited.then((code) => reject(new Error(`demo exited with ${code} before it was up:\n${out}`)));
    });
  }

  async function energySeries(api: string): Promise<{ ts: number; value: number }[]> {
    const res = await fetch(`${api}/series?site=demo-site&device=b1-main&metric=import_energy&from=0&step=raw`);
    return ((await res.json()) as { points: { ts: number; value: number }[] }).points;
  }

  async function waitForPoints(api: string, atLeast: number): Promise<{ ts: number; value: number }[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const points = await energySeries(api);
      if (points.length >= atLeast) return points;
      if (Date.now() > deadline) throw new Error(`only ${points.length} readings after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('runs, stops cleanly on Ctrl-C, and carries on with its stored data when started again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gh-demo-'));

    const first = await startDemo(dataDir);
    expect(((await (await fetch(`${first.api}/health`)).json()) as { status: string }).status).toBe('ok');
    const before = await waitForPoints(first.api, 2);
    // The doors and cameras are there too: a guard can open the lobby door (OSDP, secure channel).
    const devices = ((await (await fetch(`${first.api}/devices?site=demo-site`)).json()) as { devices: { id: string; kind: string }[] }).devices;
    expect(devices.filter((d) => d.kind !== 'meter').map((d) => [d.id, d.kind]).sort()).toEqual([
      ['cam-carpark', 'camera'],
      ['cam-lobby', 'camera'],
      ['door-lobby', 'access_panel'],
      ['gate-carpark', 'access_panel'],
    ]);
    const opened = await fetch(`${first.api}/sites/demo-site/doors/door-lobby/commands`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'open', issuedBy: 'demo.guard' }) });
    expect(await opened.json()).toMatchObject({ status: 'ok', detail: 'strike released for 5 s' });
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = await startDemo(dataDir);
    const after = await waitForPoints(second.api, before.length + 2);
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
