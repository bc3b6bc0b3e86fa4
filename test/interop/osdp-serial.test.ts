import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '@gatehouse/contracts';
import { createGatewayMetrics, OsdpDoorDriver, OsdpLine } from '@gatehouse/edge';
import { SimulatedPeripheral } from '@gatehouse/firmware-sim';
import { waitFor } from '../support/wait-for.js';
import { requireTool, startProcess, stopProcess, waitForFile } from './support.js';

describe('OSDP over a serial line: gateway and simulated reader on a socat pty pair', () => {
  let socat: ReturnType<typeof startProcess> | undefined;
  let readerPort: SerialPort | undefined;
  let driver: OsdpDoorDriver | undefined;
  afterEach(async () => {
    await driver?.stop();
    await new Promise<void>((resolve) => (readerPort?.isOpen ? readerPort.close(() => resolve()) : resolve()));
    await stopProcess(socat);
  });

  it('polls the reader over the serial port, grants an enrolled card and pulses the strike', async () => {
    requireTool('socat', 'socat');
    const dir = mkdtempSync(join(tmpdir(), 'gh-osdp-pty-'));
    const [readerSide, gatewaySide] = [join(dir, 'ttyReader'), join(dir, 'ttyGateway')];
    socat = startProcess('socat', [`pty,raw,echo=0,link=${readerSide}`, `pty,raw,echo=0,link=${gatewaySide}`]);
    await waitForFile(readerSide);
    await waitForFile(gatewaySide);

    // Secured as on a site: the card data crosses the serial line encrypted.
    const key = Buffer.from('c0ffee00c0ffee00c0ffee00c0ffee00', 'hex');
    const peripheral = new SimulatedPeripheral({ address: 2, secureChannel: { baseKey: key, required: true } });
    readerPort = new SerialPort({ path: readerSide, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => readerPort!.once('open', () => resolve()).once('error', reject));
    peripheral.attach(readerPort);

    const events: DeviceEvent[] = [];
    driver = new OsdpDoorDriver(
      {
        id: 'door-serial',
        driver: 'osdp+serial',
        serialPort: gatewaySide,
        baudRate: 115200,
        address: 2,
        useCrc: true,
        pollIntervalMs: 50,
        replyTimeoutMs: 200,
        offlineAfterMs: 8000,
        door: { unlockMs: 1000, heldOpenMs: 30_000, cards: ['CAFE0001'], keypadTimeoutMs: 10_000 },
        secureChannel: { scbk: key.toString('hex'), install: false },
      },
      { logger: pino({ level: 'silent' }), metrics: createGatewayMetrics(), sink: { readings: () => undefined, event: (e) => events.push(e) } },
      new OsdpLine({ kind: 'serial', path: gatewaySide, baudRate: 115200 }, { replyTimeoutMs: 200, useCrc: true, logger: pino({ level: 'silent' }), onBadFrame: () => undefined }),
    );
    driver.start();
    await waitFor('the reader to be secured and polled over the serial line', () => peripheral.secured && peripheral.received.length > 3);
    peripheral.presentCard(Buffer.from('CAFE0001', 'hex'));
    await waitFor('the strike to be energised', () => peripheral.strikeEnergised);
    peripheral.presentCard(Buffer.from('0BADCAFE', 'hex'));
    await waitFor('two events', () => events.length >= 2);
    expect(events.map((e) => [e.type, e.credential])).toEqual([
      ['access_granted', '****0001'],
      ['access_denied', '****CAFE'],
    ]);
  });
});
