import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@gatehouse/edge';
import { listenOsdpBus, SimulatedPeripheral } from '@gatehouse/firmware-sim';
import { writeFileSync } from 'node:fs';
import { silentLogger } from '../support/site-under-test.js';
import { cloudFetch } from '../support/api-access.js';
import { waitFor } from '../support/wait-for.js';

const SITE = 'multidrop-site';
const MASTER_KEY = '0123456789abcdef0123456789abcdef';

// Two readers multi-dropped on one RS-485 pair behind one converter port: one connection, one link,
// each reader secured with its own key, and each door deciding for itself.
describe('OSDP readers sharing one line', () => {
  let cloud: RunningCloud;
  let gateway: RunningGateway;
  const east = new SimulatedPeripheral({ address: 1, serial: 0x1001, secureChannel: { required: true } });
  const west = new SimulatedPeripheral({ address: 2, serial: 0x1002, secureChannel: { required: true } });
  let bus: Awaited<ReturnType<typeof listenOsdpBus>>;

  const events = async () =>
    ((await (await cloudFetch(cloud, `/api/v1/events?site=${SITE}&limit=100`)).json()) as { events: { device: string; type: string }[] }).events.reverse();

  beforeAll(async () => {
    bus = await listenOsdpBus([east, west]);
    cloud = await startCloud({ http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'pglite' }, embeddedBroker: { host: '127.0.0.1', port: 0 } }, silentLogger);
    const reader = (id: string, address: number, card: string) => ({
      id,
      driver: 'osdp+tcp' as const,
      host: '127.0.0.1',
      port: bus.port,
      address,
      door: { unlockMs: 2000, heldOpenMs: 60_000, cards: [card] },
      secureChannel: { masterKey: MASTER_KEY, install: true },
    });
    gateway = await startGateway(
      {
        site: SITE,
        gateway: 'gw-01',
        mqtt: { url: cloud.brokerUrl!, clientId: 'gh-multidrop-gw-01' },
        dataDir: mkdtempSync(join(tmpdir(), 'gh-multidrop-')),
        http: { host: '127.0.0.1', port: 0 },
        devices: [reader('door-east', 1, 'AAAA0001'), reader('door-west', 2, 'BBBB0002')],
      },
      silentLogger,
    );
    await waitFor('both readers secured and polled', () => east.secured && west.secured && east.received.length > 5 && west.received.length > 5);
  });

  afterAll(async () => {
    await gateway?.stop();
    await cloud?.stop();
    await bus?.close();
  });

  it('polls both readers over one connection, each with its own key', () => {
    expect(bus.connections()).toBe(1);
    expect(east.installedKey).toBeDefined();
    expect(west.installedKey).toBeDefined();
    expect(east.installedKey!.equals(west.installedKey!)).toBe(false);
  });

  it('keeps the doors apart: a card at one reader opens that door only', async () => {
    west.presentCard(Buffer.from('BBBB0002', 'hex'), 32);
    await waitFor('the west strike released', () => west.strikeEnergised);
    expect(east.strikeEnergised).toBe(false);
    east.presentCard(Buffer.from('BBBB0002', 'hex'), 32); // enrolled at the west door only
    east.setDoorOpen(true);
    await waitFor('three events', async () => (await events()).length === 3);
    expect((await events()).map((e) => [e.device, e.type])).toEqual([
      ['door-west', 'access_granted'],
      ['door-east', 'access_denied'],
      ['door-east', 'door_forced_open'],
    ]);
    east.setDoorOpen(false);
  });

  it('refuses two readers with one address on a line, and readers that disagree on the line settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-multidrop-config-'));
    const file = join(dir, 'edge.yaml');
    writeFileSync(
      file,
      'site: s\ngateway: g\nmqtt: { url: "mqtt://b:1883" }\ndevices:\n  - { id: d1, driver: osdp+tcp, host: a, port: 4001, address: 1 }\n  - { id: d2, driver: osdp+tcp, host: a, port: 4001, address: 1 }\n  - { id: d3, driver: osdp+tcp, host: a, port: 4001, address: 3, useCrc: false }\n',
    );
    expect(() => loadGatewayConfig(file)).toThrow(/devices\[1\]\.address \(line 6\): OSDP address 1 is already used on a:4001/);
    expect(() => loadGatewayConfig(file)).toThrow(/devices\[2\] \(line 7\): readers on a:4001 share one line: CRC, reply timeout 200 ms for the first, checksum, reply timeout 200 ms here/);
  });
});
