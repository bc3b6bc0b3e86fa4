import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '@gatehouse/contracts';
import { createGatewayMetrics, OsdpDoorDriver, OsdpLine } from '@gatehouse/edge';
import { SimulatedPeripheral } from '@gatehouse/firmware-sim';
import { waitFor } from '../support/wait-for.js';

// When an OSDP reader counts as offline over TCP: on the clock, whatever the reconnect backoff does,
// and when it answers every poll with NAK.
describe('OSDP reader supervision over TCP', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function start(peripheral: SimulatedPeripheral, offlineAfterMs: number) {
    const server = await peripheral.listen();
    const events: DeviceEvent[] = [];
    const logs: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      }),
    );
    const metrics = createGatewayMetrics();
    const driver = new OsdpDoorDriver(
      {
        id: 'door-tcp',
        driver: 'osdp+tcp',
        host: '127.0.0.1',
        port: server.port,
        address: 1,
        useCrc: true,
        pollIntervalMs: 50,
        replyTimeoutMs: 100,
        offlineAfterMs,
        door: { unlockMs: 1000, heldOpenMs: 30_000, cards: [], keypadTimeoutMs: 10_000 },
      },
      { logger, metrics, sink: { readings: () => undefined, event: (e) => events.push(e) } },
      new OsdpLine({ kind: 'tcp', host: '127.0.0.1', port: server.port }, { replyTimeoutMs: 100, useCrc: true, logger, onBadFrame: () => undefined }),
    );
    driver.start();
    stops.push(() => server.close(), () => driver.stop());
    return { server, driver, events, logs, metrics };
  }

  it('reports the reader offline within offlineAfterMs of the connection dropping, not at the next reconnect attempt', async () => {
    const peripheral = new SimulatedPeripheral({ address: 1 });
    const h = await start(peripheral, 2000);
    await waitFor('the reader to be polled', () => peripheral.received.length > 3);
    const lost = Date.now();
    // The converter goes away: connections refused from now on, reconnects backing off 1, 2, 4 s
    // (attempts at 1 and 3 s: judging only then would say offline at 3 s).
    await h.server.close();
    await waitFor('device_offline', () => h.events.some((e) => e.type === 'device_offline'), 10_000);
    const after = Date.now() - lost;
    expect(after).toBeGreaterThanOrEqual(1900);
    expect(after).toBeLessThan(2000 + 700);
    expect(h.events.map((e) => [e.type, e.reason])).toEqual([['device_offline', 'no answer for 2 s']]);
  });

  it('reports a reader that refuses every poll offline, with the reason, and logs it once', async () => {
    // It requires a secure channel the gateway is not configured for: every command gets NAK.
    const peripheral = new SimulatedPeripheral({ address: 1, secureChannel: { required: true } });
    const h = await start(peripheral, 1000);
    await waitFor('device_offline', () => h.events.some((e) => e.type === 'device_offline'), 5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.events.map((e) => e.type)).toEqual(['device_offline']);
    expect(h.events[0]!.reason).toMatch(/^refuses every command for 1 s \(NAK: .+\)$/);
    expect(h.logs.filter((l) => String(l.msg).startsWith('OSDP peripheral refuses the poll'))).toHaveLength(1);
    expect(h.logs.filter((l) => l.msg === 'OSDP frame refused')).toHaveLength(0);
    // Still counted, one by one.
    const naks = (await h.metrics.protocolErrors.get()).values.find((v) => v.labels.reason === 'nak')?.value ?? 0;
    expect(naks).toBeGreaterThan(10);
  });
});
