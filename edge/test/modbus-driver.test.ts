import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '@gatehouse/contracts';
import {
  BUILT_IN_PROFILE_DIR,
  createGatewayMetrics,
  loadProfiles,
  ModbusDeviceDriver,
  ModbusConnection,
  type DriverContext,
} from '@gatehouse/edge';
import { findFreePort, startSimulatedSite, type ServedRead, type SimulatedSite } from '@gatehouse/firmware-sim';

const logger = pino({ level: 'silent' });
const profile = loadProfiles([BUILT_IN_PROFILE_DIR]).get('eastron-sdm630')!;

function context(): DriverContext {
  return { logger, metrics: createGatewayMetrics(), sink: { readings: () => undefined, event: () => undefined } };
}

describe('Modbus TCP driver against the simulated SDM630', () => {
  let site: SimulatedSite;
  let port: number;
  const served: ServedRead[] = [];
  const connections: ModbusConnection[] = [];

  function driverFor(unitId: number, targetPort = port): ModbusDeviceDriver {
    const connection = new ModbusConnection({ transport: { kind: 'tcp', host: '127.0.0.1', port: targetPort }, concurrency: 1, reconnectDelayMs: 0, logger });
    connections.push(connection);
    return new ModbusDeviceDriver(
      { id: `meter-${unitId}`, scheme: 'modbus+tcp', unitId, intervalMs: 1000, timeoutMs: 500, retries: 0, maxGap: 16, backoff: { initialMs: 1000, maxMs: 5000 }, staleAfterPolls: 10 },
      profile,
      connection,
      context(),
    );
  }

  beforeAll(async () => {
    site = await startSimulatedSite(
      {
        modbusTcp: [
          {
            port: 0,
            meters: [
              { id: 'a', unitId: 1, model: 'eastron-sdm630', ratedKw: 100, shape: 'office', initialImportKwh: 5000 },
              { id: 'b', unitId: 2, model: 'eastron-sdm630', ratedKw: 30, shape: 'pump', initialImportKwh: 77 },
            ],
          },
        ],
      },
      { logger, onServe: (read) => served.push(read) },
    );
    port = site.modbusTcp[0]!.port;
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await site.stop();
  });

  it('reads every point of the profile in two requests, with the exact values served', async () => {
    served.length = 0;
    const readings = await driverFor(1).pollOnce();
    expect(served.map((r) => [r.unitId, r.functionCode, r.address, r.length])).toEqual([
      [1, 4, 0x0000, 76],
      [1, 4, 0x0156, 2],
    ]);
    const servedValues = Object.assign({}, ...served.map((r) => r.values)) as Record<string, number>;
    expect(readings).toHaveLength(profile.points.length);
    for (const reading of readings) {
      expect(reading.quality).toBe('good');
      expect(reading.value).toBe(servedValues[reading.metric]);
    }
    const byMetric = new Map(readings.map((r: Reading) => [r.metric, r]));
    expect(byMetric.get('import_energy')?.unit).toBe('kWh');
    expect(byMetric.get('import_energy')?.value).toBeGreaterThanOrEqual(5000);
    expect(byMetric.get('voltage_l1')?.value).toBeGreaterThan(200);
  });

  it('keeps meters on one connection apart by unit id', async () => {
    served.length = 0;
    const [a, b] = await Promise.all([driverFor(1).pollOnce(), driverFor(2).pollOnce()]);
    const energy = (rs: Reading[]) => rs.find((r) => r.metric === 'import_energy')?.value ?? 0;
    expect(energy(a)).toBeGreaterThanOrEqual(5000);
    expect(energy(b)).toBeLessThan(5000);
  });

  it('treats "gateway target failed to respond" as an unreachable device: one request, then the poll stops', async () => {
    served.length = 0;
    const readings = await driverFor(9).pollOnce();
    expect(readings).toHaveLength(profile.points.length);
    expect(readings.every((r) => r.value === null && r.quality === 'comm_error')).toBe(true);
    expect(readings[0]?.detail).toBe('exception 11: gateway target device failed to respond');
    expect(readings.at(-1)?.detail).toBe('not read: exception 11: gateway target device failed to respond earlier in this poll');
  });

  it('reports an unreachable device as a communication error and keeps going', async () => {
    const deadPort = await findFreePort();
    const readings = await driverFor(1, deadPort).pollOnce();
    expect(readings).toHaveLength(profile.points.length);
    expect(readings.every((r) => r.quality === 'comm_error' && r.value === null)).toBe(true);
    expect(readings[0]?.detail).toContain(`cannot connect to tcp://127.0.0.1:${deadPort}`);
    // The healthy meter is still read normally afterwards.
    expect((await driverFor(1).pollOnce()).every((r) => r.quality === 'good')).toBe(true);
  });
});
