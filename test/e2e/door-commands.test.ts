import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '@gatehouse/cloud';
import { commandCodec, commandResultCodec, type CommandResult } from '@gatehouse/contracts';
import { startGateway, type GatewayConfigInput, type RunningGateway } from '@gatehouse/edge';
import { SimulatedIsapiPanel, SimulatedPeripheral } from '@gatehouse/firmware-sim';
import { silentLogger } from '../support/site-under-test.js';
import { cloudFetch } from '../support/api-access.js';
import { waitFor } from '../support/wait-for.js';

const SITE = 'cmd-site';
const COMMAND_TOPIC = `gh/v1/${SITE}/gw-01/cmd/door`;

interface CommandRecord {
  id: string;
  status: string;
  detail: string | null;
  issuedBy: string;
  result: Record<string, unknown> | null;
  args: Record<string, unknown>;
}

// A guard opens a door from the API: cloud → broker → gateway → OSDP reader (secure channel) → strike,
// and the result back into the audit log. Replays and expired commands are refused at the gateway.
describe('door commands from the cloud', () => {
  let cloud: RunningCloud;
  let gateway: RunningGateway;
  let peripheral: SimulatedPeripheral;
  let server: Awaited<ReturnType<SimulatedPeripheral['listen']>>;
  const panel = new SimulatedIsapiPanel({ password: 'panel-pass', doors: 2 });
  let panelServer: Awaited<ReturnType<SimulatedIsapiPanel['listen']>>;
  let observer: MqttClient;
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-cmd-'));
  const seenCommands: Buffer[] = [];
  const results: CommandResult[] = [];
  let gatewayConfig: GatewayConfigInput;

  const api = (path: string, init?: RequestInit) => cloudFetch(cloud, path, init, { username: 'guard.li', roles: ['guard'] });
  const command = async (device: string, body: Record<string, unknown>) => {
    const response = await api(`/api/v1/sites/${SITE}/doors/${device}/commands`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as CommandRecord & { message?: string } };
  };
  const events = async () => ((await (await api(`/api/v1/events?site=${SITE}&limit=100`)).json()) as { events: { type: string }[] }).events.reverse();

  beforeAll(async () => {
    peripheral = new SimulatedPeripheral({ address: 1, secureChannel: { required: true } });
    server = await peripheral.listen();
    panelServer = await panel.listen();
    cloud = await startCloud({ http: { host: '127.0.0.1', port: 0 }, storage: { kind: 'pglite' }, embeddedBroker: { host: '127.0.0.1', port: 0 } }, silentLogger);
    gatewayConfig = {
      site: SITE,
      gateway: 'gw-01',
      mqtt: { url: cloud.brokerUrl!, clientId: 'gh-cmd-gw-01' },
      dataDir,
      http: { host: '127.0.0.1', port: 0 },
      devices: [
        { id: 'door-east', driver: 'osdp+tcp', host: '127.0.0.1', port: server.port, address: 1, replyTimeoutMs: 100, door: { unlockMs: 3000, heldOpenMs: 60_000, cards: [] }, secureChannel: { masterKey: '00112233445566778899aabbccddeeff', install: true } },
        { id: 'panel-north', driver: 'isapi', url: `http://127.0.0.1:${panelServer.port}`, username: 'admin', password: 'panel-pass', doors: 2 },
      ],
    };
    gateway = await startGateway(gatewayConfig, silentLogger);
    observer = await connectAsync(cloud.brokerUrl!, { clientId: 'gh-cmd-observer' });
    await observer.subscribeAsync([COMMAND_TOPIC, `gh/v1/${SITE}/gw-01/cmd-result`], { qos: 1 });
    observer.on('message', (topic, payload) => {
      if (topic === COMMAND_TOPIC) seenCommands.push(Buffer.from(payload));
      else {
        const decoded = commandResultCodec.decode(payload);
        if (decoded.ok) results.push(decoded.value);
      }
    });
    await waitFor('the reader to be secured and the gateway to be known to the cloud', async () => {
      const devices = (await (await api(`/api/v1/devices?site=${SITE}`)).json()) as { devices: { id: string }[] };
      return peripheral.secured && panel.openStreams > 0 && devices.devices.some((d) => d.id === 'door-east');
    });
  });

  afterAll(async () => {
    await observer?.endAsync();
    await gateway?.stop();
    await cloud?.stop();
    await server?.close();
    await panelServer?.close();
  });

  it('opens the door for the time asked, reports the result and the door state, and keeps it in the audit log', async () => {
    const { status, body } = await command('door-east', { action: 'open', durationMs: 4000 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', detail: 'strike released for 4 s', issuedBy: 'guard.li', result: { device: 'door-east', door: 'door', action: 'open', doorState: 'unlocked' } });
    expect(peripheral.strikeEnergised).toBe(true);
    // The strike's timer sits in the reader: 4 s in 100 ms units, over the secure channel.
    expect(peripheral.received.filter((r) => r.code === 0x68).at(-1)?.data).toEqual(Buffer.from([0, 5, 40, 0]));
    // Opening the released door is not a forced door.
    peripheral.setDoorOpen(true);
    peripheral.setDoorOpen(false);
    await waitFor('door opened and closed', async () => (await events()).filter((e) => e.type === 'door_closed').length === 1);
    expect((await events()).map((e) => e.type)).toEqual(['door_opened', 'door_closed']);

    const locked = await command('door-east', { action: 'close' });
    expect(locked.body).toMatchObject({ status: 'ok', detail: 'strike locked', result: { doorState: 'locked' } });
    expect(peripheral.strikeEnergised).toBe(false);

    const audit = (await (await api(`/api/v1/sites/${SITE}/commands?device=door-east`)).json()) as { commands: CommandRecord[] };
    expect(audit.commands.map((c) => [c.args.action, c.status, c.issuedBy])).toEqual([
      ['close', 'ok', 'guard.li'],
      ['open', 'ok', 'guard.li'],
    ]);
    const gatewayAudit = readFileSync(join(dataDir, 'command-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; status: string; issuedBy: string });
    expect(gatewayAudit.map((l) => [l.id, l.status, l.issuedBy])).toEqual(audit.commands.reverse().map((c) => [c.id, 'ok', 'guard.li']));
  });

  it('refuses a replayed command, also after a gateway restart, and an expired one', async () => {
    const original = seenCommands[0]!;
    const id = commandCodec.decode(original);
    if (!id.ok) throw new Error('the observed command does not decode');
    const strikeCommands = () => peripheral.received.filter((r) => r.code === 0x68).length;
    const before = strikeCommands();
    await observer.publishAsync(COMMAND_TOPIC, original, { qos: 1 });
    await waitFor('the duplicate result', () => results.some((r) => r.id === id.value.id && r.status === 'duplicate'));

    await gateway.stop();
    gateway = await startGateway(gatewayConfig, silentLogger);
    // The restarted gateway subscribes to its commands a moment after it connects: send until it hears.
    await waitFor('the duplicate result after the restart', async () => {
      if (results.filter((r) => r.id === id.value.id && r.status === 'duplicate').length >= 2) return true;
      await observer.publishAsync(COMMAND_TOPIC, original, { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      return false;
    });
    expect(strikeCommands()).toBe(before);

    const now = Date.now();
    const stale = commandCodec.encode({ v: 1, id: 'stale-1', issuedBy: 'guard.li', issuedAt: now - 60_000, expiresAt: now - 30_000, args: { device: 'door-east', action: 'open' } });
    await observer.publishAsync(COMMAND_TOPIC, stale, { qos: 1 });
    await waitFor('the expired result', () => results.some((r) => r.id === 'stale-1'));
    expect(results.find((r) => r.id === 'stale-1')).toMatchObject({ status: 'expired' });
    const forever = commandCodec.encode({ v: 1, id: 'forever-1', issuedBy: 'guard.li', issuedAt: now, expiresAt: now + 86_400_000, args: { device: 'door-east', action: 'open' } });
    await observer.publishAsync(COMMAND_TOPIC, forever, { qos: 1 });
    await waitFor('the over-long result', () => results.some((r) => r.id === 'forever-1'));
    expect(results.find((r) => r.id === 'forever-1')).toMatchObject({ status: 'rejected', detail: expect.stringMatching(/^a command may live 10 min at most/) });
    expect(strikeCommands()).toBe(before);
  });

  it('runs a command published while the gateway was away once it is back, if still within its TTL, and never one past it', async () => {
    const strikeCommands = () => peripheral.received.filter((r) => r.code === 0x68).length;
    const before = strikeCommands();
    await gateway.stop();
    const now = Date.now();
    const waiting = commandCodec.encode({ v: 1, id: 'while-away-1', issuedBy: 'guard.li', issuedAt: now, expiresAt: now + 60_000, args: { device: 'door-east', action: 'open', durationMs: 1000 } });
    const lapsing = commandCodec.encode({ v: 1, id: 'while-away-2', issuedBy: 'guard.li', issuedAt: now, expiresAt: now + 1000, args: { device: 'door-east', action: 'open', durationMs: 1000 } });
    await observer.publishAsync(COMMAND_TOPIC, waiting, { qos: 1 });
    await observer.publishAsync(COMMAND_TOPIC, lapsing, { qos: 1 });
    // The second one's TTL runs out while the gateway is still away.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    gateway = await startGateway(gatewayConfig, silentLogger);
    await waitFor('both results', () => results.some((r) => r.id === 'while-away-1') && results.some((r) => r.id === 'while-away-2'), 20_000);
    expect(results.find((r) => r.id === 'while-away-1')).toMatchObject({ status: 'ok' });
    expect(results.find((r) => r.id === 'while-away-2')).toMatchObject({ status: 'expired' });
    await waitFor('the strike released once', () => strikeCommands() === before + 1);
    await waitFor('the strike to fall again', () => !peripheral.strikeEnergised);
    expect(strikeCommands()).toBe(before + 1);
  });

  it('answers "failed" and keeps running when it cannot record the command on disk', async () => {
    // The ledger's atomic write goes through a temporary file: a directory in its way makes it fail.
    const blocker = join(dataDir, 'commands-taken.json.tmp');
    mkdirSync(blocker);
    const failed = await command('door-east', { action: 'open' });
    expect(failed).toMatchObject({
      status: 502,
      body: { code: 'GH_GATEWAY_FAILED', message: expect.stringMatching(/^the command failed \(gateway gw-01, command [0-9a-f-]+\): the gateway could not run the command: /), command: { status: 'failed', detail: expect.stringMatching(/^the gateway could not run the command: .*commands-taken\.json\.tmp/) } },
    });
    expect(peripheral.strikeEnergised).toBe(false);
    rmSync(blocker, { recursive: true });
    expect((await command('door-east', { action: 'close' })).body).toMatchObject({ status: 'ok' });
  });

  it('opens a door of a two-door ISAPI panel, and asks which door when it is not said', async () => {
    expect(await command('panel-north', { action: 'open' })).toMatchObject({ status: 422, body: { code: 'GH_COMMAND_REFUSED', command: { status: 'rejected', detail: 'device panel-north controls doors 1, 2: say which' } } });
    expect(panel.doorState(2).locked).toBe(true);
    const opened = await command('panel-north', { action: 'open', door: '2' });
    expect(opened.body).toMatchObject({ status: 'ok', result: { device: 'panel-north', door: '2', action: 'open' } });
    expect(panel.doorState(2).locked).toBe(false);
    expect(panel.doorState(1).locked).toBe(true);
  });

  it('says plainly what is wrong with a bad command', async () => {
    expect(await command('no-such-door', { action: 'open' })).toMatchObject({ status: 404, body: { message: 'no device no-such-door at site cmd-site' } });
    expect(await command('door-east', { action: 'explode' })).toMatchObject({ status: 400, body: { message: expect.stringContaining('body.action') } });
    // Who opens a door is the logged-in user, never what the request says.
    expect(await command('door-east', { action: 'open', issuedBy: 'somebody.else' })).toMatchObject({ status: 400, body: { message: expect.stringContaining('issuedBy') } });
    const wrongDoor = await command('door-east', { action: 'open', door: '7' });
    // Refused by the gateway: 4xx, naming what was wrong, with the command's record (kept in the audit log).
    expect(wrongDoor).toMatchObject({
      status: 422,
      body: { code: 'GH_COMMAND_REFUSED', message: expect.stringMatching(/^the gateway refused the command \(gateway gw-01, command [0-9a-f-]+\): device door-east has no door "7" \(it has door\)$/), command: { status: 'rejected' } },
    });
  });
});
