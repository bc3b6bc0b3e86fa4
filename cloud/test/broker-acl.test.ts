import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '@gatehouse/firmware-sim';
import {
  mosquittoAclFile,
  mosquittoConfSnippet,
  mosquittoPasswordFile,
  publishRefusal,
  startEmbeddedBroker,
  subscribeRefusal,
  type BrokerAccounts,
  type EmbeddedBroker,
} from '@gatehouse/cloud';

const accounts: BrokerAccounts = {
  cloud: { username: 'cloud', password: 'cloud-secret-1' },
  gateways: [
    { site: 'garden', gateway: 'gw-01', username: 'garden-gw-01', password: 'gw01-secret-1' },
    { site: 'garden', gateway: 'gw-02', username: 'garden-gw-02', password: 'gw02-secret-1' },
  ],
};

describe('broker access rules', () => {
  const gw = { kind: 'gateway' as const, site: 'garden', gateway: 'gw-01' };
  it('lets a gateway publish only its own data and subscribe only to its own commands', () => {
    expect(publishRefusal(gw, 'gh/v1/garden/gw-01/telemetry')).toBeUndefined();
    expect(publishRefusal(gw, 'gh/v1/garden/gw-01/state')).toBeUndefined();
    expect(publishRefusal(gw, 'gh/v1/garden/gw-02/telemetry')).toBe('gateway garden/gw-01 may not publish as garden/gw-02');
    expect(publishRefusal(gw, 'gh/v1/garden/gw-01/cmd/door-open')).toBe('a gateway may not publish cmd');
    expect(publishRefusal(gw, 'elsewhere/x')).toBe('topic elsewhere/x is outside the gh/v1 scheme');
    expect(subscribeRefusal(gw, 'gh/v1/garden/gw-01/cmd/#')).toBeUndefined();
    expect(subscribeRefusal(gw, 'gh/v1/garden/gw-01/cmd/door-open')).toBeUndefined();
    expect(subscribeRefusal(gw, 'gh/v1/garden/+/cmd/#')).toBe('gateway garden/gw-01 may subscribe to gh/v1/garden/gw-01/cmd/# only');
    expect(subscribeRefusal(gw, 'gh/v1/#')).toBeDefined();
  });

  it('lets the cloud read everything and publish only commands', () => {
    expect(subscribeRefusal({ kind: 'cloud' }, '$share/cloud/gh/v1/+/+/telemetry')).toBeUndefined();
    expect(publishRefusal({ kind: 'cloud' }, 'gh/v1/garden/gw-01/cmd/resend')).toBeUndefined();
    expect(publishRefusal({ kind: 'cloud' }, 'gh/v1/garden/gw-01/telemetry')).toBe('the cloud account publishes commands only, not telemetry');
  });
});

async function client(url: string, username: string, password: string): Promise<MqttClient> {
  const c = connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** The same checks, against whichever broker: what gets through and what does not. */
function brokerChecks(url: () => string) {
  it('refuses bad credentials', async () => {
    await expect(client(url(), 'garden-gw-01', 'wrong-password')).rejects.toThrow(/Bad username or password|Not authorized|bad user/i);
  });

  it('delivers a gateway’s own telemetry, and not what it publishes as another gateway', async () => {
    const cloud = await client(url(), 'cloud', 'cloud-secret-1');
    const received: string[] = [];
    cloud.on('message', (topic) => received.push(topic));
    await cloud.subscribeAsync('gh/v1/+/+/telemetry', { qos: 1 });
    const gw1 = await client(url(), 'garden-gw-01', 'gw01-secret-1');
    await gw1.publishAsync('gh/v1/garden/gw-01/telemetry', 'own', { qos: 1 });
    // Mosquitto drops the message; aedes also drops the connection. Either way nothing gets through.
    await Promise.race([gw1.publishAsync('gh/v1/garden/gw-02/telemetry', 'impostor', { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
    const gw1b = await client(url(), 'garden-gw-01', 'gw01-secret-1');
    await gw1b.publishAsync('gh/v1/garden/gw-01/telemetry', 'own again', { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toEqual(['gh/v1/garden/gw-01/telemetry', 'gh/v1/garden/gw-01/telemetry']);
    await Promise.all([cloud.endAsync(true), gw1.endAsync(true), gw1b.endAsync(true)]);
  });

  it('lets a gateway receive its own commands only', async () => {
    const gw1 = await client(url(), 'garden-gw-01', 'gw01-secret-1');
    const received: string[] = [];
    gw1.on('message', (topic) => received.push(topic));
    const own = await gw1.subscribeAsync('gh/v1/garden/gw-01/cmd/#', { qos: 1 });
    expect(own[0]?.qos).toBe(1);
    // Refused outright (SUBACK failure) or granted but never delivered, depending on the broker.
    await gw1.subscribeAsync('gh/v1/garden/gw-02/cmd/#', { qos: 1 }).catch(() => undefined);
    const cloud = await client(url(), 'cloud', 'cloud-secret-1');
    await cloud.publishAsync('gh/v1/garden/gw-02/cmd/door-open', 'for gw-02', { qos: 1 });
    await cloud.publishAsync('gh/v1/garden/gw-01/cmd/door-open', 'for gw-01', { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toEqual(['gh/v1/garden/gw-01/cmd/door-open']);
    await Promise.all([gw1.endAsync(true), cloud.endAsync(true)]);
  });
}

describe('embedded broker (aedes) with accounts', () => {
  let broker: EmbeddedBroker;
  const refusals: string[] = [];
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), accounts, onRefused: (what) => refusals.push(what) });
  });
  afterAll(() => broker.close());
  brokerChecks(() => broker.url);
  it('counted what it refused', () => {
    expect(refusals).toEqual(expect.arrayContaining(['connect', 'publish', 'subscribe']));
  });
});

describe('Mosquitto with the generated password and ACL files', () => {
  let mosquitto: ChildProcess;
  let url = '';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-mosquitto-'));
    chmodSync(dir, 0o755);
    const port = await findFreePort();
    writeFileSync(join(dir, 'passwd'), mosquittoPasswordFile(accounts), { mode: 0o644 });
    writeFileSync(join(dir, 'acl'), mosquittoAclFile(accounts), { mode: 0o644 });
    writeFileSync(join(dir, 'mosquitto.conf'), ['persistence false', 'log_dest stderr', mosquittoConfSnippet({ port, passwordFile: join(dir, 'passwd'), aclFile: join(dir, 'acl') })].join('\n'));
    mosquitto = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    mosquitto.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    mosquitto.once('error', (err) => {
      throw new Error(`mosquitto is required for this test (apt-get install mosquitto): ${err.message}`);
    });
    url = `mqtt://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        (await client(url, 'cloud', 'cloud-secret-1')).end(true);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`second Mosquitto instance did not come up: ${(err as Error).message}\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  afterAll(() => {
    mosquitto?.kill('SIGTERM');
  });
  brokerChecks(() => url);
});
