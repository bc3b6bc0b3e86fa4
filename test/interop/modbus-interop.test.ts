import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createGatewayMetrics, loadProfileFile, ModbusConnection, ModbusDeviceDriver, type ModbusTransport } from '@gatehouse/edge';
import { findFreePort, startSimulatedSite, type ServedRead, type SimulatedSite } from '@gatehouse/firmware-sim';
import { requireTool, startProcess, stopProcess, waitForFile, waitForPort } from './support.js';

const logger = pino({ level: 'silent' });
const PYMODBUS_SERVER = fileURLToPath(new URL('./pymodbus_server.py', import.meta.url));
const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;

const connections: ModbusConnection[] = [];
function connectionFor(transport: ModbusTransport): ModbusConnection {
  const connection = new ModbusConnection({ transport, concurrency: 1, reconnectDelayMs: 0, logger });
  connections.push(connection);
  return connection;
}

function driverFor(transportOrConnection: ModbusTransport | ModbusConnection, profileFile: string, unitId = 1) {
  const connection = transportOrConnection instanceof ModbusConnection ? transportOrConnection : connectionFor(transportOrConnection);
  return new ModbusDeviceDriver(
    { id: 'peer', scheme: 'modbus+tcp', unitId, intervalMs: 1000, timeoutMs: 1000, retries: 0, maxGap: 16, backoff: { initialMs: 1000, maxMs: 1000 }, staleAfterPolls: 10 },
    loadProfileFile(profileFile),
    connection,
    { logger, metrics: createGatewayMetrics(), sink: { readings: () => undefined, event: () => undefined } },
  );
}

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

describe('interoperability with pymodbus (an independent server)', () => {
  let server: ChildProcess | undefined;
  afterEach(() => stopProcess(server));

  it('decodes every type in every word order exactly as pymodbus encoded it', async () => {
    requireTool('/usr/bin/python3', 'python3-pymodbus');
    const values = [
      { type: 'float32', value: 123.456, expected: Math.fround(123.456) },
      { type: 'float32', value: -0.015625, expected: -0.015625 },
      { type: 'int32', value: -123456789, expected: -123456789 },
      { type: 'uint32', value: 3_000_000_000, expected: 3_000_000_000 },
      { type: 'int64', value: -1234567890123, expected: -1234567890123 },
      { type: 'uint64', value: 2 ** 53 - 1, expected: 2 ** 53 - 1 },
      { type: 'float64', value: 1234567.891, expected: 1234567.891 },
      { type: 'int16', value: -2, expected: -2 },
      { type: 'uint16', value: 54321, expected: 54321 },
    ];
    const spec: { metric: string; address: number; type: string; order: string; value: number; expected: number }[] = [];
    let address = 0;
    for (const v of values) {
      for (const order of ORDERS) {
        spec.push({ metric: `${v.type}_${order.toLowerCase()}_${spec.length}`, address, type: v.type, order, value: v.value, expected: v.expected });
        address += v.type.endsWith('64') ? 4 : v.type.endsWith('16') ? 1 : 2;
      }
    }
    const port = await findFreePort();
    server = startProcess('/usr/bin/python3', [PYMODBUS_SERVER, String(port), JSON.stringify(spec.map(({ address, type, order, value }) => ({ address, type, order, value })))]);
    await waitForPort(port).catch((err: Error) => {
      throw new Error(`${err.message}\n${(server as ReturnType<typeof startProcess>).output()}`);
    });

    const dir = mkdtempSync(join(tmpdir(), 'gh-interop-'));
    const profileFile = join(dir, 'pymodbus-layout.yaml');
    writeFileSync(
      profileFile,
      ['id: pymodbus-layout', 'manufacturer: test', 'model: pymodbus', 'measures: electricity', 'defaults: { function: holding }', 'points:', ...spec.map((p) => `  - { metric: ${p.metric}, address: ${p.address}, type: ${p.type}, order: ${p.order}, unit: '1', kind: gauge }`)].join('\n'),
    );
    const readings = await driverFor({ kind: 'tcp', host: '127.0.0.1', port }, profileFile).pollOnce();
    expect(readings).toHaveLength(spec.length);
    const got = new Map(readings.map((r) => [r.metric, r]));
    for (const p of spec) {
      expect(got.get(p.metric)?.quality, p.metric).toBe('good');
      expect(got.get(p.metric)?.value, p.metric).toBe(p.expected);
    }
  });
});

describe('interoperability with mbpoll (an independent client)', () => {
  let site: SimulatedSite | undefined;
  afterEach(() => site?.stop());

  it('reads from the simulated SDM630 the values the simulator reports serving', async () => {
    requireTool('mbpoll', 'mbpoll');
    const served: ServedRead[] = [];
    site = await startSimulatedSite(
      { modbusTcp: [{ port: 0, meters: [{ id: 'm', unitId: 7, model: 'eastron-sdm630', shape: 'office', ratedKw: 100, initialImportKwh: 31_337.5 }] }] },
      { logger, onServe: (r) => served.push(r) },
    );
    const port = site.modbusTcp[0]!.port;
    // Import energy (0x0048) and export energy (0x004A): float32, big-endian word order, PDU addressing.
    // Asynchronously: the simulator answers from this very process.
    const result = await promisify(execFile)('mbpoll', ['-m', 'tcp', '-p', String(port), '-a', '7', '-0', '-r', '72', '-c', '2', '-t', '3:float', '-B', '-1', '127.0.0.1'], { encoding: 'utf8', timeout: 10_000 });
    const printed = [...result.stdout.matchAll(/^\[(\d+)\]:\s+(-?[\d.e+-]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(served).toHaveLength(1);
    expect(served[0]).toMatchObject({ unitId: 7, functionCode: 4, address: 72, length: 4 });
    const values = served[0]!.values;
    expect(printed).toHaveLength(2);
    expect(printed[0]?.[0]).toBe(72);
    // mbpoll prints six significant digits.
    expect(Math.abs((printed[0]?.[1] ?? 0) - (values.import_energy ?? NaN)) / (values.import_energy ?? 1)).toBeLessThan(1e-6);
    expect(printed[1]?.[1]).toBe(values.export_energy);
  });
});

describe('RTU: gateway and simulator over a socat pty pair', () => {
  let socat: ReturnType<typeof startProcess> | undefined;
  let site: SimulatedSite | undefined;
  afterEach(async () => {
    await site?.stop();
    await stopProcess(socat);
  });

  const sdm630 = fileURLToPath(new URL('../../edge/profiles/eastron-sdm630.yaml', import.meta.url));
  const dtsu666 = fileURLToPath(new URL('../../edge/profiles/chint-dtsu666.yaml', import.meta.url));

  it('reads two meters on one serial bus with the exact values served; a missing unit times out', async () => {
    requireTool('socat', 'socat');
    const dir = mkdtempSync(join(tmpdir(), 'gh-rtu-'));
    const [meterSide, gatewaySide] = [join(dir, 'ttyMeters'), join(dir, 'ttyGateway')];
    socat = startProcess('socat', [`pty,raw,echo=0,link=${meterSide}`, `pty,raw,echo=0,link=${gatewaySide}`]);
    await waitForFile(meterSide);
    await waitForFile(gatewaySide);
    const served: ServedRead[] = [];
    site = await startSimulatedSite(
      {
        modbusRtu: [
          {
            serialPort: meterSide,
            baudRate: 19200,
            meters: [
              { id: 'a', unitId: 1, model: 'eastron-sdm630', shape: 'office', ratedKw: 60, initialImportKwh: 100 },
              { id: 'b', unitId: 2, model: 'chint-dtsu666', shape: 'retail', ratedKw: 40, initialImportKwh: 200 },
            ],
          },
        ],
      },
      { logger, onServe: (r) => served.push(r) },
    );
    // One serial port, one connection, shared by every unit on the bus (as the gateway does).
    const bus = connectionFor({ kind: 'rtu', path: gatewaySide, baudRate: 19200, parity: 'none', dataBits: 8, stopBits: 1 });
    for (const [unitId, profileFile, device] of [[1, sdm630, 'a'], [2, dtsu666, 'b']] as const) {
      served.length = 0;
      const readings = await driverFor(bus, profileFile, unitId).pollOnce();
      const servedValues: Record<string, number> = Object.assign({}, ...served.filter((r) => r.device === device).map((r) => r.values));
      expect(readings.length).toBeGreaterThan(10);
      for (const r of readings) {
        expect(r.quality, `${r.metric}: ${r.detail}`).toBe('good');
        expect(r.value, r.metric).toBe(servedValues[r.metric]);
      }
    }
    const missing = await driverFor(bus, sdm630, 9).pollOnce();
    expect(missing[0]).toMatchObject({ quality: 'comm_error', detail: 'timed out' });
  });

  it('carries RTU frames over TCP through a serial device server (socat TCP ↔ pty)', async () => {
    requireTool('socat', 'socat');
    const dir = mkdtempSync(join(tmpdir(), 'gh-rtutcp-'));
    const meterSide = join(dir, 'ttyMeters');
    const port = await findFreePort();
    // socat opens the pty first, then listens for one TCP client: the device server's two sides.
    socat = startProcess('socat', [`pty,raw,echo=0,link=${meterSide}`, `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`]);
    await waitForFile(meterSide);
    const served: ServedRead[] = [];
    site = await startSimulatedSite(
      { modbusRtu: [{ serialPort: meterSide, baudRate: 9600, meters: [{ id: 'c', unitId: 3, model: 'eastron-sdm630', shape: 'pump', ratedKw: 30, initialImportKwh: 5 }] }] },
      { logger, onServe: (r) => served.push(r) },
    );
    const driver = driverFor({ kind: 'rtu-over-tcp', host: '127.0.0.1', port }, sdm630, 3);
    // The listener may not be up yet: the gateway reconnects on its own, as it would in the field.
    const deadline = Date.now() + 10_000;
    while ((await driver.pollOnce()).some((r) => r.quality !== 'good')) {
      if (Date.now() > deadline) throw new Error(`no good poll over RTU-over-TCP within 10 s\n${socat.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    served.length = 0;
    const readings = await driver.pollOnce();
    const servedValues: Record<string, number> = Object.assign({}, ...served.map((r) => r.values));
    expect(readings).toHaveLength(15);
    for (const r of readings) expect(r.value, `${r.metric}: ${r.detail}`).toBe(servedValues[r.metric]);
  });
});
