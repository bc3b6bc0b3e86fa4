import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { startGateway, type RunningGateway } from '@gatehouse/edge';
import { startSimulatedSite, type SimulatedSite } from '@gatehouse/firmware-sim';
import { silentLogger, storedCount } from '../support/site-under-test.js';
import { requireTool } from '../interop/support.js';
import { waitFor } from '../support/wait-for.js';

const accounts = {
  cloud: { username: 'cloud', password: 'cloud-secret-1' },
  gateways: [{ site: 'tls-site', gateway: 'gw-01', username: 'tls-site.gw-01', password: 'gw-secret-01' }],
};

describe('MQTT over TLS with per-gateway accounts', () => {
  let sim: SimulatedSite;
  let cloud: RunningCloud;
  let gateway: RunningGateway | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'gh-tls-'));
  const cert = join(dir, 'broker.pem');
  const key = join(dir, 'broker.key');

  beforeAll(async () => {
    requireTool('openssl', 'openssl');
    // A self-signed certificate for 127.0.0.1, which the clients then trust as their CA.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    sim = await startSimulatedSite({ modbusTcp: [{ port: 0, meters: [{ id: 'm1', unitId: 1, model: 'eastron-sdm630', shape: 'office', ratedKw: 50, initialImportKwh: 10 }] }] }, { logger: silentLogger });
    cloud = await startCloud(
      {
        http: { host: '127.0.0.1', port: 0 },
        storage: { kind: 'pglite' },
        embeddedBroker: { host: '127.0.0.1', port: 0, tls: { certFile: cert, keyFile: key } },
        brokerAccounts: accounts,
      },
      silentLogger,
    ).catch(async (err: Error) => {
      throw err;
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await sim.stop();
    await cloud.stop();
  });

  it('delivers readings from a gateway that verifies the broker certificate', async () => {
    expect(cloud.brokerUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    gateway = await startGateway(
      {
        site: 'tls-site',
        gateway: 'gw-01',
        dataDir: join(dir, 'edge'),
        mqtt: { url: cloud.brokerUrl!, username: 'tls-site.gw-01', password: 'gw-secret-01', tls: { caFile: cert, rejectUnauthorized: true } },
        http: { host: '127.0.0.1', port: 0 },
        devices: [{ id: 'm1', driver: 'modbus+tcp', host: '127.0.0.1', port: sim.modbusTcp[0]!.port, unitId: 1, profile: 'eastron-sdm630', intervalMs: 200 }],
      },
      silentLogger,
    );
    await waitFor('readings stored over TLS', async () => (await storedCount(cloud, 'tls-site')) >= 30);
  });

  it('refuses to talk to a broker whose certificate it cannot verify', async () => {
    const untrusting = await startGateway(
      {
        site: 'tls-site',
        gateway: 'gw-01',
        dataDir: join(dir, 'edge-untrusting'),
        mqtt: { url: cloud.brokerUrl!, clientId: 'untrusting', username: 'tls-site.gw-01', password: 'gw-secret-01', tls: { rejectUnauthorized: true } },
        http: { host: '127.0.0.1', port: 0 },
        devices: [{ id: 'm1', driver: 'modbus+tcp', host: '127.0.0.1', port: sim.modbusTcp[0]!.port, unitId: 1, profile: 'eastron-sdm630', intervalMs: 200 }],
      },
      silentLogger,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const health = (await (await fetch(`http://127.0.0.1:${untrusting.httpPort}/health`)).json()) as { connected: boolean };
    expect(health.connected).toBe(false);
    expect(untrusting.backlog()).toBeGreaterThan(0);
    await untrusting.stop();
  });
});
