import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './support.js';

// The simulated camera checked by Debian's onvif-util (libonvif, C), the third client beside the two
// npm packages in onvif-clients.test.ts. onvif-util finds cameras only by a WS-Discovery multicast
// probe, sent with IP_MULTICAST_LOOP off: a camera on the same host never hears it. So the camera runs
// in a network namespace of its own and onvif-util in another, joined by a veth pair: the probe leaves
// one interface and arrives on the other, as it would cross a LAN. Neither end touches the host's
// interfaces or routes, so runs in parallel do not meet, and both may use the same addresses.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USER = 'admin';
const PASS = 'Gatehouse-2024';
const CAMERA_IP = '10.250.0.2';
const CLIENT_IP = '10.250.0.1';
const CLOCK_OFFSET_S = 2 * 3600;
const COMMAND_TIMEOUT_MS = 20_000;

interface CameraStats {
  operations: Record<string, number>;
  authFailures: number;
}

/** A command that must succeed, killed if it takes longer than `timeoutMs`. */
function must(command: string, args: string[], timeoutMs = 10_000): string {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Runs a command to its end with `input` on stdin; killed, and the test failed, past `timeoutMs`. */
function run(command: string, args: string[], input: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} still running after ${timeoutMs} ms; its output so far:\n${output}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(input);
  });
}

/** Two network namespaces, one for the camera and one for the client, joined by a veth pair. */
class LinkedNamespaces {
  readonly camera: string;
  readonly client: string;
  private readonly cameraIf: string;
  private readonly clientIf: string;

  constructor() {
    const id = randomBytes(4).toString('hex');
    this.camera = `gh-onvif-cam-${id}`;
    this.client = `gh-onvif-cli-${id}`;
    // Interface names are limited to 15 characters.
    this.cameraIf = `ghc${id}`;
    this.clientIf = `ghu${id}`;
  }

  async create(): Promise<void> {
    must('ip', ['netns', 'add', this.camera]);
    must('ip', ['netns', 'add', this.client]);
    // Both ends are born in their namespaces: nothing is ever added to the host's.
    must('ip', ['link', 'add', this.clientIf, 'netns', this.client, 'type', 'veth', 'peer', 'name', this.cameraIf, 'netns', this.camera]);
    for (const [ns, dev, address] of [
      [this.camera, this.cameraIf, CAMERA_IP],
      [this.client, this.clientIf, CLIENT_IP],
    ] as const) {
      must('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', dev]);
      must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      // Without a default route a namespace has no way to the multicast group: neither to send the
      // probe nor to join the group to hear it.
      must('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev]);
    }
    await this.carrier(this.camera, this.cameraIf);
    await this.carrier(this.client, this.clientIf);
  }

  /** Deletes both namespaces (which deletes the veth pair); reports what it could not delete. */
  destroy(): string[] {
    const problems: string[] = [];
    for (const ns of [this.camera, this.client]) {
      const result = spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' });
      if (result.status !== 0 && !/No such file/.test(result.stderr)) problems.push(`ip netns del ${ns}: ${result.stderr || result.error?.message}`);
    }
    return problems;
  }

  /** Waits until the link reports its carrier, so the first probe is not sent into a link still coming up. */
  private async carrier(ns: string, dev: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = must('ip', ['-n', ns, 'link', 'show', 'dev', dev]);
      if (/\bLOWER_UP\b/.test(state) && /state UP\b/.test(state)) return;
      if (Date.now() > deadline) throw new Error(`${dev} in ${ns} not up after ${timeoutMs} ms: ${state}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

// The camera runs from the build output: the test's own process cannot enter another namespace, and a
// child process of node runs JavaScript, not the TypeScript sources vitest reads. It reports itself
// ready, answers "stats" with its counters, and stops when its stdin ends: with the test, even if the
// test dies.
const CAMERA_SCRIPT = `
import { SimulatedCamera } from ${JSON.stringify(pathToFileURL(join(ROOT, 'firmware-sim/dist/index.js')).href)};
const { options, port } = JSON.parse(process.argv[2]);
const camera = new SimulatedCamera(options);
const running = await camera.listen(port, '0.0.0.0');
const say = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
say({ port: running.port, discoveryPort: running.discoveryPort });
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let end;
  while ((end = pending.indexOf('\\n')) >= 0) {
    const line = pending.slice(0, end).trim();
    pending = pending.slice(end + 1);
    if (line === 'stats') say({ operations: Object.fromEntries(camera.operations), authFailures: camera.authFailures });
  }
});
process.stdin.on('end', () => running.close().finally(() => process.exit(0)));
`;

/** The camera's process, read a line at a time. */
class CameraProcess {
  errors = '';
  private output = '';
  private lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => {
      this.output += c.toString();
      let end;
      while ((end = this.output.indexOf('\n')) >= 0) {
        this.lines.push(this.output.slice(0, end));
        this.output = this.output.slice(end + 1);
      }
      this.deliver();
    });
    child.stderr!.on('data', (c: Buffer) => (this.errors += c.toString()));
  }

  nextLine(timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`the camera said nothing within ${timeoutMs} ms (exit ${this.child.exitCode}); stderr: ${this.errors}`));
      }, timeoutMs);
      const onExit = () => {
        clearTimeout(timer);
        reject(new Error(`the camera exited with ${this.child.exitCode ?? this.child.signalCode}: ${this.errors}`));
      };
      this.child.once('exit', onExit);
      this.waiting = (line) => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolve(line);
      };
      this.deliver();
    });
  }

  async stats(): Promise<CameraStats> {
    this.child.stdin!.write('stats\n');
    return JSON.parse(await this.nextLine()) as CameraStats;
  }

  /** Ends stdin so the camera closes itself; killed if it has not gone within 5 s. */
  stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin!.end();
    });
  }

  private deliver(): void {
    if (this.waiting && this.lines.length > 0) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting(this.lines.shift()!);
    }
  }
}

describe('the simulated camera and onvif-util (libonvif), across a veth pair between network namespaces', () => {
  let namespaces: LinkedNamespaces | undefined;
  let camera: CameraProcess | undefined;
  let scriptDir: string | undefined;

  const onvifUtil = (args: string[], input = '') => run('ip', ['netns', 'exec', namespaces!.client, 'onvif-util', ...args], input);

  beforeAll(async () => {
    requireTool('onvif-util', 'onvif-tools');
    requireTool('ip', 'iproute2');
    if (process.getuid?.() !== 0) throw new Error('onvif-util.test.ts creates network namespaces and must run as root');
    // The camera's process imports the build output, which must be that of the sources under test.
    must(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'firmware-sim'], 120_000);

    namespaces = new LinkedNamespaces();
    await namespaces.create();

    scriptDir = mkdtempSync(join(tmpdir(), 'gh-onvif-util-'));
    const script = join(scriptDir, 'camera.mjs');
    writeFileSync(script, CAMERA_SCRIPT);
    const config = {
      port: 80,
      options: {
        name: 'Porch Cam',
        serial: 'GH0003',
        username: USER,
        password: PASS,
        // The camera's clock is off: onvif-util must read it and sign with the camera's time.
        clockOffsetMs: CLOCK_OFFSET_S * 1000,
        advertisedHost: CAMERA_IP,
        discovery: { port: 3702 },
        // libonvif seeds its nonces from the second, so requests within one millisecond carry the
        // same token: a camera with a nonce cache would refuse them at random.
        rejectReplayedNonces: false,
      },
    };
    camera = new CameraProcess(spawn('ip', ['netns', 'exec', namespaces.camera, process.execPath, script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = JSON.parse(await camera.nextLine()) as { port: number; discoveryPort: number };
    expect(ready).toEqual({ port: 80, discoveryPort: 3702 });
  });

  afterAll(async () => {
    await camera?.stop();
    const problems = namespaces?.destroy() ?? [];
    if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`cleanup failed:\n${problems.join('\n')}`);
  });

  it('finds the camera by a WS-Discovery multicast probe: its address, and its name and model from the scopes', async () => {
    const { code, output } = await onvifUtil(['-a']);
    expect(code, output).toBe(0);
    expect(output).toContain('Found 1 cameras');
    expect(output).toContain(`${CAMERA_IP} (Porch Cam GH-IPC-2100)`);
  });

  it("logs in with WS-Security against the camera's wrong clock and reads its time, profiles and stream URIs", async () => {
    const commands = ['get capabilities', 'get time', 'get profiles', 'get profile 0', 'get profile 1', 'get rtsp 0', 'get rtsp 1', 'quit'];
    const { code, output } = await onvifUtil(['-u', USER, '-p', PASS, CAMERA_IP], commands.join('\n') + '\n');
    expect(code, output).toBe(0);
    expect(output, output).not.toContain('ERROR');

    // GetDeviceInformation, with the name from the discovery scopes
    expect(output).toContain(`found host: ${CAMERA_IP}`);
    expect(output).toMatch(/name:\s+Porch Cam GH-IPC-2100\n/);
    expect(output).toMatch(/serial: GH0003\n/);
    // GetCapabilities (onvif-util prints the imaging address under the media and PTZ labels too, so
    // only the event service says anything here)
    expect(output).toContain('event_service:   POST /onvif/event_service HTTP/1.1');
    // GetSystemDateAndTime: the offset it learnt, to the second
    const offset = Number(/Time Offset: (-?\d+) seconds/.exec(output)?.[1]);
    expect(Math.abs(offset - CLOCK_OFFSET_S), output).toBeLessThanOrEqual(1);
    expect(output).toMatch(/Timezone:\s+UTC0\n/);
    // GetProfiles
    expect(output).toMatch(/Token 0: MainStream\n\s*Token 1: SubStream\n/);
    // GetProfile: each profile's video encoder configuration
    const profiles = [...output.matchAll(/Profile set to (\w+)\s+Width:\s+(\d+)\s+Height:\s+(\d+)\s+Frame Rate:\s+(\d+)\s+Gov Length:\s+(\d+)\s+Bitrate:\s+(\d+)/g)].map((m) => [m[1], ...m.slice(2).map(Number)]);
    expect(profiles).toEqual([
      ['MainStream', 1920, 1080, 25, 50, 4096],
      ['SubStream', 640, 360, 15, 30, 512],
    ]);
    // GetStreamUri, per profile, on the address the camera advertised
    const uris = [...output.matchAll(/Profile set to (\w+)\s+(rtsp:\/\/\S+)/g)].map((m) => [m[1], m[2]]);
    expect(uris).toEqual([
      ['MainStream', `rtsp://${CAMERA_IP}:554/Streaming/Channels/101`],
      ['SubStream', `rtsp://${CAMERA_IP}:554/Streaming/Channels/102`],
    ]);

    const stats = await camera!.stats();
    for (const operation of ['GetSystemDateAndTime', 'GetDeviceInformation', 'GetCapabilities', 'GetProfiles', 'GetProfile', 'GetStreamUri']) {
      expect(stats.operations[operation], operation).toBeGreaterThan(0);
    }
  });

  it('is refused with a wrong password', async () => {
    const before = await camera!.stats();
    const { code, output } = await onvifUtil(['-u', USER, '-p', 'wrong', CAMERA_IP], 'quit\n');
    expect(code, output).toBe(1);
    expect(output).toContain('ERROR: get device information - ter:NotAuthorized');
    const after = await camera!.stats();
    expect(after.authFailures).toBeGreaterThan(before.authFailures);
    expect(after.operations.GetDeviceInformation).toBe(before.operations.GetDeviceInformation);
  });
});
