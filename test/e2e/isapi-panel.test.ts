import type { DeviceEvent } from '@gatehouse/contracts';
import { deviceEventSchema } from '@gatehouse/contracts';
import { createGatewayMetrics, DigestClient, IsapiPanelDriver, isapiDeviceConfigSchema, type IsapiDeviceConfig } from '@gatehouse/edge';
import { ISAPI_PANEL_SCENARIOS, playIsapiPanelScenario, SimulatedIsapiPanel } from '@gatehouse/firmware-sim';
import { pino } from 'pino';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';

const PASSWORD = 'Gatehouse12';
const RESIDENT = '3180545640';

interface Harness {
  panel: SimulatedIsapiPanel;
  server: { port: number; close(): Promise<void> };
  driver: IsapiPanelDriver;
  events: DeviceEvent[];
  logs: Record<string, unknown>[];
  metrics: ReturnType<typeof createGatewayMetrics>;
  config: IsapiDeviceConfig;
}

const running: Harness[] = [];
const extraDrivers: IsapiPanelDriver[] = [];

afterEach(async () => {
  for (const d of extraDrivers.splice(0)) await d.stop();
  for (const h of running.splice(0)) {
    await h.driver.stop();
    await h.server.close();
  }
});

/** A logger that keeps every line, so tests can check what an operator would read. */
function recordingLogger(logs: Record<string, unknown>[]) {
  return pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
}

function makeDriver(config: IsapiDeviceConfig, events: DeviceEvent[], logs: Record<string, unknown>[], metrics = createGatewayMetrics()) {
  return new IsapiPanelDriver(config, {
    logger: recordingLogger(logs),
    metrics,
    sink: {
      readings() {},
      event(e) {
        events.push(deviceEventSchema.parse(e));
      },
    },
  });
}

async function start(options: { password?: string; panel?: ConstructorParameters<typeof SimulatedIsapiPanel>[0]; config?: Partial<IsapiDeviceConfig> } = {}): Promise<Harness> {
  const panel = new SimulatedIsapiPanel({ cards: [RESIDENT], doors: 2, heartbeatMs: 200, unlockMs: 60_000, ...options.panel });
  const server = await panel.listen();
  const config = isapiDeviceConfigSchema.parse({
    id: 'panel-gate',
    driver: 'isapi',
    url: `http://127.0.0.1:${server.port}`,
    username: 'admin',
    password: options.password ?? PASSWORD,
    doors: 2,
    stallTimeoutMs: 1500,
    offlineAfterMs: 1000,
    requestTimeoutMs: 1000,
    reconnectMinMs: 50,
    reconnectMaxMs: 300,
    ...options.config,
  });
  const events: DeviceEvent[] = [];
  const logs: Record<string, unknown>[] = [];
  const metrics = createGatewayMetrics();
  const driver = makeDriver(config, events, logs, metrics);
  const h = { panel, server, driver, events, logs, metrics, config };
  running.push(h);
  return h;
}

async function startAndConnect(options: Parameters<typeof start>[0] = {}): Promise<Harness> {
  const h = await start(options);
  h.driver.start();
  await waitFor('the alert stream to open', () => h.panel.openStreams === 1);
  // The first catch-up runs right after the stream opens; let it finish so events below come live.
  await waitFor('the first log search', () => h.logs.some((l) => l.msg === 'ISAPI alert stream open'));
  return h;
}

const protocolErrors = async (h: Harness) =>
  Object.fromEntries((await h.metrics.protocolErrors.get()).values.filter((v) => v.labels.protocol === 'isapi').map((v) => [v.labels.reason, v.value]));

const summary = (events: DeviceEvent[]) => events.filter((e) => !e.type.startsWith('device_')).map((e) => [e.type, e.point, e.credential, e.reason]);

describe('the ISAPI driver against the simulated panel, over HTTP', () => {
  it('normalises granted, denied, forced, held open, tamper, duress and exit, with ids from the serial number', async () => {
    const h = await startAndConnect();
    h.panel.swipeCard(RESIDENT, 1);
    h.panel.swipeCard('9990001234', 2);
    h.panel.swipeCard(RESIDENT, 2, false);
    h.panel.forceDoor(2);
    h.panel.holdDoorOpen(1);
    h.panel.tamper();
    h.panel.duress(1);
    h.panel.exitButton(2);
    await waitFor('9 events', () => h.events.length >= 9 || `${h.events.length}`);
    await new Promise((r) => setTimeout(r, 300)); // nothing further may follow: give a tenth event the chance to show up
    expect(summary(h.events)).toEqual([
      ['access_granted', '1', '****5640', undefined],
      ['access_denied', '2', '****1234', 'card not enrolled'],
      ['access_denied', '2', '****5640', 'no permission at this door'],
      ['door_forced_open', '2', undefined, undefined],
      ['door_opened', '1', undefined, undefined],
      ['door_held_open', '1', undefined, undefined],
      ['tamper', undefined, undefined, 'card reader tamper (reader 1)'],
      ['duress', '1', undefined, undefined],
      ['exit_button', '2', undefined, undefined],
    ]);
    // Ids follow the panel's serial numbers (the unlock records in between are not security events).
    const serials = h.panel.events.filter((e) => ![0x15, 0x16].includes(e.minor)).map((e) => `panel-gate-${e.serialNo}`);
    expect(h.events.map((e) => e.id)).toEqual(serials);
    for (let i = 1; i < h.events.length; i++) expect(h.events[i]!.ts).toBeGreaterThan(h.events[i - 1]!.ts);
    expect(JSON.stringify(h.events)).not.toContain(RESIDENT);
    expect(JSON.stringify(h.logs)).not.toContain(RESIDENT);
    expect(await protocolErrors(h)).toEqual({});
  });

  it('delivers exactly the events that happened while the stream was down, once and in order', async () => {
    const h = await startAndConnect();
    h.panel.swipeCard(RESIDENT, 1);
    await waitFor('the live event', () => h.events.length === 1);
    h.panel.dropStreams();
    // These happen before the driver can have reconnected: only the log search can deliver them.
    for (let i = 0; i < 45; i++) h.panel.swipeCard(`88800${String(i).padStart(5, '0')}`, 1 + (i % 2));
    await waitFor('the stream to be reopened', () => h.panel.openStreams === 1);
    h.panel.forceDoor(1);
    await waitFor('47 events', () => h.events.length >= 47 || `${h.events.length}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.events).toHaveLength(47);
    expect(h.events.slice(1, 46).map((e) => e.credential)).toEqual(Array.from({ length: 45 }, (_, i) => `****${String(i).padStart(5, '0').slice(-4)}`));
    expect(h.events.at(-1)!.type).toBe('door_forced_open');
    const ids = h.events.map((e) => Number(e.id.split('-').at(-1)));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The log search delivered the 45 (and the forced door too, when it searched after the door was forced).
    const caughtUp = h.logs.filter((l) => l.msg === 'ISAPI events caught up from the panel log').reduce((n, l) => n + Number(l.delivered), 0);
    expect(caughtUp).toBeGreaterThanOrEqual(45);
    expect(caughtUp).toBeLessThanOrEqual(46);
  });

  it('a panel sending XML events: granted, denied and forced normalised exactly; a stream drop mid-burst caught up without loss or doubles', async () => {
    const h = await startAndConnect({ panel: { alertFormat: 'xml' } });
    h.panel.swipeCard(RESIDENT, 1);
    h.panel.swipeCard('9990001234', 2);
    h.panel.swipeCard(RESIDENT, 2, false);
    // Kept out of the panel log, the forced doors can reach the driver only as XML on the stream.
    const streamOnly = [h.panel.events.at(-1)!.serialNo + 1];
    h.panel.leaveNextEventsOutOfLog(1);
    h.panel.forceDoor(2);
    await waitFor('4 live events', () => h.events.length >= 4 || `${h.events.length}`);
    expect(summary(h.events)).toEqual([
      ['access_granted', '1', '****5640', undefined],
      ['access_denied', '2', '****1234', 'card not enrolled'],
      ['access_denied', '2', '****5640', 'no permission at this door'],
      ['door_forced_open', '2', undefined, undefined],
    ]);
    // A burst of refused cards with the stream dropped halfway: the first half goes out live as XML,
    // the second half only the log search can deliver.
    const card = (i: number) => `77700${String(i).padStart(5, '0')}`;
    for (let i = 0; i < 10; i++) h.panel.swipeCard(card(i), 1 + (i % 2));
    h.panel.dropStreams();
    for (let i = 10; i < 30; i++) h.panel.swipeCard(card(i), 1 + (i % 2));
    await waitFor('the stream to be reopened', () => h.panel.openStreams === 1);
    streamOnly.push(h.panel.events.at(-1)!.serialNo + 1);
    h.panel.leaveNextEventsOutOfLog(1);
    h.panel.forceDoor(1);
    await waitFor('35 events', () => h.events.length >= 35 || `${h.events.length}`);
    await new Promise((r) => setTimeout(r, 300)); // a double would show up by now
    expect(summary(h.events).slice(4)).toEqual([
      ...Array.from({ length: 30 }, (_, i) => ['access_denied', String(1 + (i % 2)), `****${card(i).slice(-4)}`, 'card not enrolled']),
      ['door_forced_open', '1', undefined, undefined],
    ]);
    // Ids follow the panel's serial numbers, each once, in order (the unlock record in between is no security event).
    const serials = [...h.panel.events.filter((e) => ![0x15, 0x16].includes(e.minor)).map((e) => e.serialNo), ...streamOnly].sort((a, b) => a - b);
    expect(h.events.map((e) => e.id)).toEqual(serials.map((n) => `panel-gate-${n}`));
    const caughtUp = h.logs.filter((l) => l.msg === 'ISAPI events caught up from the panel log').reduce((n, l) => n + Number(l.delivered), 0);
    expect(caughtUp).toBeGreaterThanOrEqual(20);
    expect(JSON.stringify(h.events)).not.toContain(RESIDENT);
    expect(JSON.stringify(h.logs)).not.toContain(RESIDENT);
    expect(await protocolErrors(h)).toEqual({});
  });

  it('detects a stalled stream, reconnects and catches up on what happened meanwhile', async () => {
    const h = await startAndConnect();
    h.panel.stallStream();
    h.panel.swipeCard(RESIDENT, 1);
    h.panel.tamper();
    await waitFor('the stall to be noticed', () => h.logs.some((l) => String(l.msg).includes('stalled')));
    await waitFor('2 events', () => h.events.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['access_granted', 'tamper']);
    expect(h.panel.openStreams).toBe(1);
  });

  it('counts and logs garbage on the stream, and delivers the events after it', async () => {
    const h = await startAndConnect();
    h.panel.sendGarbageOnStream();
    h.panel.swipeCard(RESIDENT, 1);
    h.panel.exitButton(1);
    await waitFor('2 events', () => h.events.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['access_granted', 'exit_button']);
    const errors = await protocolErrors(h);
    expect(errors.bad_json).toBe(1);
    expect(errors.multipart_garbage).toBeGreaterThanOrEqual(1);
    expect(h.logs.filter((l) => l.msg === 'ISAPI input refused').map((l) => l.reason)).toEqual(expect.arrayContaining(['bad_json', 'multipart_garbage']));
  });

  it('recovers an event whose stream part arrived broken, from the panel log, before the events after it', async () => {
    const h = await startAndConnect();
    h.panel.corruptNextEventOnStream();
    h.panel.forceDoor(1);
    h.panel.duress(1);
    await waitFor('2 events', () => h.events.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['door_forced_open', 'duress']);
    expect(await protocolErrors(h)).toEqual({ bad_json: 1 });
  });

  it('opens a door remotely and reports its state; a bad door number fails naming the panel error', async () => {
    const h = await startAndConnect();
    const open = await h.driver.executeDoorCommand({ door: '2', action: 'open', durationMs: 5000 });
    expect(open).toMatchObject({ ok: true, doorState: 'unlocked' });
    expect(open.detail).toMatch(/^door 2 unlocked/);
    expect(h.panel.doorState(2).locked).toBe(false);
    const close = await h.driver.executeDoorCommand({ door: '2', action: 'close' });
    expect(close).toEqual({ ok: true, doorState: 'locked', detail: 'door 2 locked' });
    const bad = await h.driver.executeDoorCommand({ door: '7', action: 'open' });
    expect(bad).toEqual({ ok: false, detail: 'panel panel-gate refused open door 7: HTTP 400, statusCode 6 (Invalid Content, badParameters, doorNo 7)' });
    const nonsense = await h.driver.executeDoorCommand({ door: 'lobby', action: 'open' });
    expect(nonsense.ok).toBe(false);
    expect(nonsense.detail).toContain('no door "lobby"');
    // Remote operations and lock changes are no security events.
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events)).toEqual([]);
  });

  it('names the panel and "credentials refused" for a wrong password, reports it offline, and the door command says so', async () => {
    const h = await start({ password: 'not-the-password' });
    h.driver.start();
    await waitFor('the refusal to be logged', () => h.logs.some((l) => String(l.msg).includes('credentials refused')));
    const line = h.logs.find((l) => String(l.msg).includes('credentials refused'))!;
    expect(line.msg).toContain('panel-gate');
    expect(line.level).toBe(50);
    await waitFor('device_offline', () => h.events.some((e) => e.type === 'device_offline'));
    expect(h.events.map((e) => [e.type, e.reason])).toEqual([['device_offline', 'credentials refused']]);
    const outcome = await h.driver.executeDoorCommand({ door: '1', action: 'open' });
    expect(outcome).toEqual({ ok: false, detail: 'panel panel-gate refused the credentials (HTTP 401)' });
    expect(h.panel.events).toHaveLength(0);
  });

  it('keeps a quiet panel without heartbeats online, asking it when its stream has said nothing for a while', async () => {
    // A panel that never sends heartbeats; offline after 1 s of silence, stream reopened after 1.5 s.
    const h = await startAndConnect({ panel: { heartbeatMs: 3_600_000 } });
    await new Promise((r) => setTimeout(r, 4000));
    expect(h.events.map((e) => e.type)).toEqual([]);
    h.panel.tamper();
    await waitFor('the tamper event', () => h.events.length >= 1);
    expect(h.events.map((e) => e.type)).toEqual(['tamper']);
  });

  it('reports a panel online at the first answer after a restart when it was last reported offline', async () => {
    const h = await start();
    h.driver.restoreState({ lastSerialNo: 0, lastEventTs: 0, logGeneration: 0, reportedOffline: true });
    h.driver.start();
    await waitFor('device_online', () => h.events.some((e) => e.type === 'device_online'));
    expect(h.events.map((e) => e.type)).toEqual(['device_online']);
    // And the state saved from now on says online.
    expect(h.driver.persistentState()).not.toHaveProperty('reportedOffline');
  });

  it('reports the panel offline and back online, and catches up on what happened while it was away', async () => {
    const h = await startAndConnect();
    h.panel.setOffline(true);
    h.panel.swipeCard(RESIDENT, 1);
    h.panel.forceDoor(2);
    await waitFor('device_offline', () => h.events.some((e) => e.type === 'device_offline'));
    const refused = await h.driver.executeDoorCommand({ door: '1', action: 'open' });
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/^panel panel-gate did not answer: fetch failed \(\w+\)$/);
    expect(h.logs.filter((l) => l.msg === 'ISAPI panel unreachable: retrying' && l.level === 40)).toHaveLength(1);
    h.panel.setOffline(false);
    await waitFor('4 events', () => h.events.length >= 4 || h.events.map((e) => e.type).join());
    await new Promise((r) => setTimeout(r, 300));
    expect(h.events.map((e) => e.type)).toEqual(['device_offline', 'device_online', 'access_granted', 'door_forced_open']);
    expect(h.events[0]!.reason).toBe('no answer for 1.0 s');
  });

  it('a restarted gateway (new driver, restored state) delivers what it missed, without doubles', async () => {
    const h = await startAndConnect();
    h.panel.swipeCard(RESIDENT, 1);
    await waitFor('the live event', () => h.events.length === 1);
    await h.driver.stop();
    const saved = JSON.parse(JSON.stringify(h.driver.persistentState())) as unknown;
    h.panel.swipeCard('7770009999', 1);
    h.panel.duress(2);
    const events: DeviceEvent[] = [];
    const restarted = makeDriver(h.config, events, []);
    extraDrivers.push(restarted);
    restarted.restoreState(saved);
    restarted.start();
    await waitFor('2 events', () => events.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(events.map((e) => [e.type, e.credential])).toEqual([
      ['access_denied', '****9999'],
      ['duress', undefined],
    ]);
    expect(new Set([...h.events, ...events].map((e) => e.id)).size).toBe(3);
    expect(events[0]!.ts).toBeGreaterThan(h.events[0]!.ts);
  });

  it('a panel whose log restarts (reset, replaced) keeps its events flowing, under new ids', async () => {
    const h = await startAndConnect();
    h.panel.swipeCard(RESIDENT, 1);
    h.panel.forceDoor(1);
    await waitFor('2 events', () => h.events.length >= 2);
    h.panel.resetEventLog();
    h.panel.tamper();
    h.panel.duress(2);
    await waitFor('4 events', () => h.events.length >= 4 || h.events.map((e) => e.type).join());
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['access_granted', 'door_forced_open', 'tamper', 'duress']);
    expect(h.events.map((e) => e.id)).toEqual(['panel-gate-1', 'panel-gate-3', 'panel-gate-g1-1', 'panel-gate-g1-2']);
    expect(h.logs.some((l) => String(l.msg).includes('event log restarted'))).toBe(true);
  });

  it('a gateway meeting a panel for the first time does not replay the panel history', async () => {
    const h = await start();
    for (let i = 0; i < 40; i++) h.panel.swipeCard(RESIDENT, 1);
    h.driver.start();
    await waitFor('the alert stream to open', () => h.panel.openStreams === 1);
    h.panel.tamper();
    await waitFor('the tamper event', () => h.events.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.events.map((e) => e.type)).toEqual(['tamper']);
    expect(h.driver.persistentState()).toMatchObject({ lastSerialNo: h.panel.events.at(-1)!.serialNo });
  });

  it('a log search whose answer stalls after its headers times out, and the next search delivers', async () => {
    const h = await startAndConnect();
    h.panel.stallNextAnswer('/ISAPI/AccessControl/AcsEvent');
    h.panel.corruptNextEventOnStream();
    h.panel.forceDoor(1);
    h.panel.duress(1); // the jump in serial numbers starts a catch-up, whose answer stalls
    await waitFor('2 events', () => h.events.length >= 2 || h.events.map((e) => e.type).join());
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['door_forced_open', 'duress']);
    expect(h.logs.some((l) => l.msg === 'ISAPI event log search failed: reconnecting to try again' && /no complete answer .* within 1000 ms/.test(String(l.err)))).toBe(true);
  });

  it('stop() ends a door command whose answer stalls, at once', async () => {
    const h = await startAndConnect({ config: { requestTimeoutMs: 60_000 } });
    h.panel.stallNextAnswer('/ISAPI/AccessControl/RemoteControl');
    const pending = h.driver.executeDoorCommand({ door: '1', action: 'open' });
    await waitFor('the panel to carry out the command', () => h.panel.doorState(1).locked === false);
    const stopping = Date.now();
    await h.driver.stop();
    expect(await pending).toEqual({ ok: false, detail: 'panel panel-gate: the driver stopped before the panel answered' });
    expect(Date.now() - stopping).toBeLessThan(2000);
  });

  it('a door state read back whose answer stalls times out, and the command still reports its result', async () => {
    const h = await startAndConnect();
    h.panel.stallNextAnswer('/ISAPI/AccessControl/AcsWorkStatus');
    const started = Date.now();
    const outcome = await h.driver.executeDoorCommand({ door: '1', action: 'open' });
    expect(outcome).toEqual({ ok: true, doorState: 'unknown', detail: 'door 1 unlocked; its state could not be read back' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('keeps a panel refusal under 400 characters however long the panel makes it', async () => {
    const h = await startAndConnect();
    h.panel.failDoorCommands({ statusCode: 4, statusString: 'S'.repeat(300), subStatusCode: 's'.repeat(300), errorMsg: 'e'.repeat(300) });
    const outcome = await h.driver.executeDoorCommand({ door: '1', action: 'open' });
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toMatch(/^panel panel-gate refused open door 1: HTTP 400, statusCode 4 \(S+…, s+…, e+…\)$/);
    expect(outcome.detail.length).toBeLessThan(400);
    const lobby = await h.driver.executeDoorCommand({ door: 'x'.repeat(1000), action: 'open' });
    expect(lobby.detail.length).toBeLessThan(400);
  });

  it('a record lost on the stream while a catch-up runs is fetched before the records after it', async () => {
    const h = await startAndConnect();
    h.panel.delaySearchAnswers(300);
    h.panel.dropStreams();
    await waitFor('the catch-up search after reconnecting', () => (h.panel.openStreams === 1 && h.panel.pendingSearches === 1) || `${h.panel.openStreams} streams, ${h.panel.pendingSearches} searches`);
    // The search in progress has taken its matches: it will not return these.
    h.panel.corruptNextEventOnStream();
    h.panel.forceDoor(1); // broken on the stream
    h.panel.duress(1); // held until the forced door is delivered
    await waitFor('2 events', () => h.events.length >= 2 || h.events.map((e) => e.type).join());
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['door_forced_open', 'duress']);
    expect(h.events.map((e) => e.id)).toEqual(['panel-gate-1', 'panel-gate-2']);
    expect(await protocolErrors(h)).toEqual({ bad_json: 1 });
  });

  it('takes a first contact with an empty log whose serial numbers begin at 500 as the start, not as 499 lost events', async () => {
    const h = await startAndConnect({ panel: { firstSerialNo: 500 } });
    h.panel.forceDoor(1);
    h.panel.tamper();
    await waitFor('2 events', () => h.events.length >= 2 || h.events.map((e) => e.type).join());
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['door_forced_open', 'tamper']);
    expect(h.events.map((e) => e.id)).toEqual(['panel-gate-500', 'panel-gate-501']);
    expect(await protocolErrors(h)).toEqual({});
    expect(h.logs.filter((l) => String(l.msg).includes('are lost'))).toEqual([]);
  });

  it('gives up a record missing from the panel log after a few searches, loudly, and delivers what follows', async () => {
    const h = await startAndConnect();
    // A first event delivered: from here on the position is known.
    h.panel.tamper();
    await waitFor('the first event', () => h.events.length >= 1);
    h.panel.corruptNextEventOnStream();
    h.panel.leaveNextEventsOutOfLog(2);
    h.panel.forceDoor(1); // broken on the stream, and in no search
    h.panel.duress(1); // on the stream only
    await waitFor('the duress event', () => h.events.length >= 2);
    h.panel.tamper();
    await waitFor('3 events', () => h.events.length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['tamper', 'duress', 'tamper']);
    expect(h.events.map((e) => e.id)).toEqual(['panel-gate-1', 'panel-gate-3', 'panel-gate-4']);
    expect(await protocolErrors(h)).toEqual({ bad_json: 1, events_lost: 1 });
    const lost = h.logs.filter((l) => String(l.msg).includes('are lost'));
    expect(lost).toMatchObject([{ level: 50, missingFrom: 2, missingTo: 2 }]);
  });

  it('recognises a reset panel whose new log has grown past the last serial number delivered', async () => {
    const h = await startAndConnect();
    h.panel.tamper();
    h.panel.duress(1);
    await waitFor('2 events', () => h.events.length >= 2);
    h.panel.dropStreams();
    h.panel.resetEventLog();
    h.panel.forceDoor(2);
    h.panel.exitButton(2); // and the door unlocked: three records, past the two delivered
    await waitFor('4 events', () => h.events.length >= 4 || h.events.map((e) => e.type).join());
    await new Promise((r) => setTimeout(r, 300));
    expect(summary(h.events).map((e) => e[0])).toEqual(['tamper', 'duress', 'door_forced_open', 'exit_button']);
    expect(h.events.map((e) => e.id)).toEqual(['panel-gate-1', 'panel-gate-2', 'panel-gate-g1-1', 'panel-gate-g1-2']);
    expect(h.logs.filter((l) => String(l.msg).includes('event log restarted'))).toHaveLength(1);
    expect(h.driver.persistentState()).toMatchObject({ lastSerialNo: 3, logGeneration: 1, lastFingerprint: expect.any(String) });
  });

  it('a restarted gateway recognises a panel reset meanwhile by the record under its last serial number', async () => {
    const h = await startAndConnect();
    h.panel.tamper();
    h.panel.duress(1);
    await waitFor('2 events', () => h.events.length >= 2);
    await h.driver.stop();
    const saved = JSON.parse(JSON.stringify(h.driver.persistentState())) as unknown;
    h.panel.resetEventLog();
    h.panel.forceDoor(2);
    h.panel.exitButton(2);
    const events: DeviceEvent[] = [];
    const restarted = makeDriver(h.config, events, []);
    extraDrivers.push(restarted);
    restarted.restoreState(saved);
    restarted.start();
    await waitFor('2 events', () => events.length >= 2 || events.map((e) => e.type).join());
    await new Promise((r) => setTimeout(r, 300));
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['door_forced_open', 'panel-gate-g1-1'],
      ['exit_button', 'panel-gate-g1-2'],
    ]);
  });

  it('does not send the password to a panel that offers only Basic over plain HTTP, and says why', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="panel"' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const config = isapiDeviceConfigSchema.parse({ id: 'panel-gate', driver: 'isapi', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, username: 'admin', password: PASSWORD, reconnectMinMs: 50, reconnectMaxMs: 300 });
      const logs: Record<string, unknown>[] = [];
      const driver = makeDriver(config, [], logs);
      extraDrivers.push(driver);
      driver.start();
      await waitFor('the refusal to be logged', () => logs.some((l) => String(l.msg).includes('cannot log in')));
      expect(logs.find((l) => String(l.msg).includes('cannot log in'))).toMatchObject({
        level: 50,
        msg: expect.stringContaining('panel-gate') as unknown,
        err: 'the device offers only Basic authentication over plain HTTP; refused',
      });
      expect(await driver.executeDoorCommand({ door: '1', action: 'open' })).toEqual({ ok: false, detail: 'panel panel-gate: the device offers only Basic authentication over plain HTTP; refused' });
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.every((a) => a === undefined)).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('the simulated panel speaks ISAPI as panels do', () => {
  let panel: SimulatedIsapiPanel;
  let server: { port: number; close(): Promise<void> };
  let base: string;
  const client = new DigestClient({ username: 'admin', password: PASSWORD });

  beforeEach(async () => {
    panel = new SimulatedIsapiPanel({ cards: [RESIDENT], heartbeatMs: 200, lockoutAfter: 3, lockoutMs: 60_000 });
    server = await panel.listen();
    base = `http://127.0.0.1:${server.port}`;
  });
  afterEach(async () => {
    await server.close();
  });

  const search = async (cond: Record<string, unknown>) =>
    (await (await client.fetch(`${base}/ISAPI/AccessControl/AcsEvent?format=json`, { method: 'POST', body: JSON.stringify({ AcsEventCond: { searchID: 'q', major: 0, minor: 0, ...cond } }) })).json()) as {
      AcsEvent: { responseStatusStrg: string; numOfMatches: number; totalMatches: number; InfoList?: { serialNo: number; major: number; minor: number; cardNo?: string; time: string }[] };
    };

  it('answers deviceInfo in XML behind Digest auth with a DS-K2600 realm', async () => {
    const challenge = await fetch(`${base}/ISAPI/System/deviceInfo`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toMatch(/^Digest realm="DS-K2600", qop="auth", nonce="[^"]+", opaque="[0-9a-f]+", algorithm=MD5$/);
    const res = await client.fetch(`${base}/ISAPI/System/deviceInfo`);
    const xml = await res.text();
    expect(res.headers.get('content-type')).toBe('application/xml');
    for (const field of ['deviceName', 'model', 'serialNumber', 'firmwareVersion', 'macAddress']) expect(xml).toMatch(new RegExp(`<${field}>[^<]+</${field}>`));
  });

  it('pages AcsEvent searches at 30 records, filters by serial number and code, and says NO MATCH past the end', async () => {
    for (let i = 0; i < 40; i++) panel.swipeCard(`5550${String(i).padStart(4, '0')}`, 1);
    expect(panel.events).toHaveLength(40);
    const first = await search({ searchResultPosition: 0, maxResults: 100 });
    expect(first.AcsEvent).toMatchObject({ responseStatusStrg: 'MORE', numOfMatches: 30, totalMatches: 40 });
    expect(first.AcsEvent.InfoList![0]).toMatchObject({ serialNo: 1, major: 5, minor: 9, cardNo: '55500000' });
    expect(first.AcsEvent.InfoList![0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    const second = await search({ searchResultPosition: 30, maxResults: 30 });
    expect(second.AcsEvent).toMatchObject({ responseStatusStrg: 'OK', numOfMatches: 10, totalMatches: 40 });
    expect((await search({ searchResultPosition: 40, maxResults: 30 })).AcsEvent).toEqual({ searchID: 'q', responseStatusStrg: 'NO MATCH', numOfMatches: 0, totalMatches: 40 });
    const bySerial = await search({ searchResultPosition: 0, maxResults: 30, beginSerialNo: 38, endSerialNo: 39 });
    expect(bySerial.AcsEvent.InfoList!.map((e) => e.serialNo)).toEqual([38, 39]);
    panel.tamper();
    const byCode = await search({ searchResultPosition: 0, maxResults: 30, major: 1, minor: 0x406 });
    expect(byCode.AcsEvent.InfoList!.map((e) => e.serialNo)).toEqual([41]);
    const bad = await client.fetch(`${base}/ISAPI/AccessControl/AcsEvent?format=json`, { method: 'POST', body: '{"AcsEventCond":{"searchID":"q","searchResultPosition":-1}}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ statusCode: 6, subStatusCode: 'badParameters', errorMsg: 'searchResultPosition, maxResults' });
  });

  it('streams events as JSON parts and heartbeats as videoloss XML parts on multipart/mixed', async () => {
    const controller = new AbortController();
    const res = await client.fetch(`${base}/ISAPI/Event/notification/alertStream`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('multipart/mixed; boundary=MIME_boundary');
    const reader = res.body!.getReader();
    let text = '';
    panel.swipeCard(RESIDENT, 1);
    while (!text.includes('"serialNo":2') || !text.includes('videoloss')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/--MIME_boundary\r\nContent-Type: application\/xml; charset="UTF-8"\r\nContent-Length: \d+\r\n\r\n<\?xml[^]*<eventType>videoloss<\/eventType>\r?\n<eventState>inactive<\/eventState>/);
    const part = /--MIME_boundary\r\nContent-Type: application\/json; charset="UTF-8"\r\nContent-Length: (\d+)\r\n\r\n/.exec(text)!;
    const body = text.slice(part.index + part[0].length, part.index + part[0].length + Number(part[1]));
    expect(JSON.parse(body)).toMatchObject({ eventType: 'AccessControllerEvent', eventState: 'active', AccessControllerEvent: { majorEventType: 5, subEventType: 1, cardNo: RESIDENT, doorNo: 1, serialNo: 1, currentVerifyMode: 'card' } });
  });

  it('streams events as XML EventNotificationAlert parts when told to, the heartbeats unchanged', async () => {
    const xmlPanel = new SimulatedIsapiPanel({ cards: [RESIDENT], heartbeatMs: 200, alertFormat: 'xml' });
    const xmlServer = await xmlPanel.listen();
    try {
      const controller = new AbortController();
      const res = await client.fetch(`http://127.0.0.1:${xmlServer.port}/ISAPI/Event/notification/alertStream`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      xmlPanel.swipeCard(RESIDENT, 1);
      while (!text.includes('<serialNo>2</serialNo>') || !text.includes('videoloss')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      expect(text).not.toContain('application/json');
      const part = text.split('--MIME_boundary\r\n').find((p) => p.includes('<serialNo>1</serialNo>'))!;
      const head = /^Content-Type: application\/xml; charset="UTF-8"\r\nContent-Length: (\d+)\r\n\r\n/.exec(part)!;
      const body = part.slice(head[0].length, head[0].length + Number(head[1]));
      expect(body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<EventNotificationAlert version="2.0" xmlns="http:\/\/www.hikvision.com\/ver20\/XMLSchema">\n/);
      for (const element of ['<eventType>AccessControllerEvent</eventType>', '<eventState>active</eventState>', '<majorEventType>5</majorEventType>', '<subEventType>1</subEventType>', `<cardNo>${RESIDENT}</cardNo>`, '<doorNo>1</doorNo>', '<serialNo>1</serialNo>', '<currentVerifyMode>card</currentVerifyMode>'])
        expect(body).toContain(element);
      expect(body.trimEnd().endsWith('</AccessControllerEvent>\n</EventNotificationAlert>')).toBe(true);
    } finally {
      await xmlServer.close();
    }
  });

  it('answers remote door control with ResponseStatus, refusing bad XML and unknown commands', async () => {
    const put = (door: string, body: string) => client.fetch(`${base}/ISAPI/AccessControl/RemoteControl/door/${door}`, { method: 'PUT', body });
    const ok = await put('1', '<RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/<statusCode>1<\/statusCode>\n<statusString>OK<\/statusString>/);
    expect(panel.doorState(1)).toEqual({ locked: false, open: false });
    const status = (await (await client.fetch(`${base}/ISAPI/AccessControl/AcsWorkStatus?format=json`)).json()) as { AcsWorkStatus: { doorLockStatus: number[]; magneticStatus: number[] } };
    expect(status.AcsWorkStatus).toMatchObject({ doorLockStatus: [1], magneticStatus: [0] });
    expect(panel.events.map((e) => [e.major, e.minor])).toEqual([[3, 0x400], [5, 0x15]]);
    const badXml = await put('1', '<RemoteControlDoor><cmd>open</RemoteControlDoor>');
    expect(badXml.status).toBe(400);
    expect(await badXml.text()).toMatch(/<statusCode>5<\/statusCode>[^]*<subStatusCode>badXmlFormat<\/subStatusCode>/);
    const badCmd = await put('1', '<RemoteControlDoor><cmd>explode</cmd></RemoteControlDoor>');
    expect(await badCmd.text()).toMatch(/<statusCode>6<\/statusCode>[^]*<subStatusCode>badXmlContent<\/subStatusCode>/);
  });

  it('plays the instant door scenarios into its log', async () => {
    const options = { enrolledCard: RESIDENT, unknownCard: '4440001111' };
    for (const scenario of ['card_denied', 'tamper', 'duress'] as const) await playIsapiPanelScenario(panel, scenario, options);
    expect(panel.events.map((e) => [e.major, e.minor, e.cardNo])).toEqual([
      [5, 0x09, '4440001111'],
      [1, 0x406, undefined],
      [1, 0x40a, undefined],
    ]);
    expect(ISAPI_PANEL_SCENARIOS).toEqual(['card_granted', 'card_denied', 'door_forced', 'door_held_open', 'exit', 'tamper', 'duress', 'panel_offline']);
  });

  it('locks the account after repeated wrong passwords, even against the right one', async () => {
    const wrong = new DigestClient({ username: 'admin', password: 'wrong' });
    for (let i = 0; i < 3; i++) expect((await wrong.fetch(`${base}/ISAPI/System/deviceInfo`)).status).toBe(401);
    expect(panel.accountLocked).toBe(true);
    const refused = await client.fetch(`${base}/ISAPI/System/deviceInfo`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('user locked');
  });
});
