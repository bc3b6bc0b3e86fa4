import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { derivePeripheralKey, startGateway, type RunningGateway } from '@gatehouse/edge';
import { SimulatedPeripheral } from '@gatehouse/firmware-sim';
import { silentLogger } from '../support/site-under-test.js';
import { cloudFetch } from '../support/api-access.js';
import { waitFor } from '../support/wait-for.js';

const SITE = 'osdp-site';
const CARD = Buffer.from('12345640', 'hex');

// A door whose reader speaks OSDP: simulated peripheral → gateway (control panel, door logic, events
// journal) → embedded broker → cloud → the events API.
describe('an OSDP door end to end', () => {
  let cloud: RunningCloud;
  let gateway: RunningGateway;
  let peripheral: SimulatedPeripheral;
  let server: Awaited<ReturnType<SimulatedPeripheral['listen']>>;

  const events = async () =>
    ((await (await cloudFetch(cloud, `/api/v1/events?site=${SITE}&limit=100`)).json()) as { events: { type: string; credential: string | null; reason: string | null; device: string }[] }).events.reverse();

  beforeAll(async () => {
    // Factory-fresh and refusing anything outside the secure channel: the gateway installs its key first.
    peripheral = new SimulatedPeripheral({ address: 0x65, secureChannel: { required: true } });
    server = await peripheral.listen();
    cloud = await startCloud({ http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'pglite' }, embeddedBroker: { host: '127.0.0.1', port: 0 } }, silentLogger);
    gateway = await startGateway(
      {
        site: SITE,
        gateway: 'gw-01',
        mqtt: { url: cloud.brokerUrl!, clientId: 'gh-osdp-gw-01' },
        dataDir: mkdtempSync(join(tmpdir(), 'gh-osdp-')),
        http: { host: '127.0.0.1', port: 0 },
        devices: [
          {
            id: 'door-lobby',
            name: 'Lobby door',
            driver: 'osdp+tcp',
            host: '127.0.0.1',
            port: server.port,
            address: 0x65,
            replyTimeoutMs: 100,
            offlineAfterMs: 1000,
            door: { unlockMs: 3000, heldOpenMs: 60_000, cards: ['12345640'], duressPin: '9999' },
            secureChannel: { masterKey: '000102030405060708090a0b0c0d0e0f', install: true },
          },
        ],
      },
      silentLogger,
    );
    await waitFor('the peripheral to be polled', () => peripheral.received.length > 3);
    // Everything below went over the secure channel, with the key derived for this peripheral.
    expect(peripheral.secured).toBe(true);
    expect(peripheral.installedKey?.toString('hex')).toBe(derivePeripheralKey(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'), peripheral.clientUid).toString('hex'));
  });

  afterAll(async () => {
    await gateway?.stop();
    await cloud?.stop();
    await server?.close();
  });

  it('grants an enrolled card and unlocks the strike, denies an unknown one, and reports a forced door and tamper', async () => {
    peripheral.presentCard(CARD, 32);
    await waitFor('the strike to be energised', () => peripheral.strikeEnergised);
    peripheral.setDoorOpen(true);
    peripheral.setDoorOpen(false);
    peripheral.presentCard(Buffer.from('DEADBEEF', 'hex'), 32);
    await waitFor('the strike to lock again', () => !peripheral.strikeEnergised);
    peripheral.setDoorOpen(true); // locked: forced
    peripheral.setDoorOpen(false);
    peripheral.setTamper(true);
    // The duress PIN, one key per osdp_KEYPAD as many readers send it, then Enter (0x0D).
    peripheral.pressKeys('9999#', { onePerReport: true });
    await waitFor('9 events stored', async () => (await events()).length >= 9);
    const stored = await events();
    expect(stored.map((e) => e.type)).toEqual(['access_granted', 'door_opened', 'door_closed', 'access_denied', 'door_forced_open', 'door_closed', 'tamper', 'access_granted', 'duress']);
    expect(stored[0]).toMatchObject({ device: 'door-lobby', credential: '****5640' });
    expect(stored[3]).toMatchObject({ credential: '****BEEF', reason: 'credential not enrolled at this door' });
    // The whole card number is never stored.
    expect(JSON.stringify(stored)).not.toContain('12345640');
    // The person at the door saw green and heard one beep, then the stranger red and three beeps.
    expect(peripheral.signals.slice(0, 4)).toEqual([
      { kind: 'led', color: 2 },
      { kind: 'beeps', count: 1 },
      { kind: 'led', color: 1 },
      { kind: 'beeps', count: 3 },
    ]);
  });

  it('reports the peripheral offline when it falls silent, and online when it answers again', async () => {
    const before = (await events()).length;
    peripheral.goSilent(2500);
    const reportedAs = async () =>
      ((await (await cloudFetch(cloud, `/api/v1/devices?site=${SITE}`)).json()) as { devices: { id: string; reportedAs: string | null }[] }).devices.find((d) => d.id === 'door-lobby')?.reportedAs;
    await waitFor('device_offline', async () => (await events()).slice(before).some((e) => e.type === 'device_offline'), 10_000);
    // The devices list says so too, while the reader is silent.
    await waitFor('the devices list to show the reader offline', async () => (await reportedAs()) === 'offline');
    await waitFor('device_online', async () => (await events()).slice(before).some((e) => e.type === 'device_online'), 10_000);
    expect(await reportedAs()).toBe('online');
    expect((await events()).slice(before).map((e) => e.type)).toEqual(['device_offline', 'device_online']);
  });
});
