import { pino } from 'pino';
import {
  BUILT_IN_PROFILE_DIR,
  createGatewayMetrics,
  loadProfiles,
  ModbusConnection,
  ModbusDeviceDriver,
  type DeviceProfile,
  type DriverContext,
  type ModbusDeviceOptions,
  type ModbusTransport,
} from '@gatehouse/edge';

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
export const profiles = loadProfiles([BUILT_IN_PROFILE_DIR]);

export function profile(id: string): DeviceProfile {
  const p = profiles.get(id);
  if (!p) throw new Error(`no profile ${id}`);
  return p;
}

/** A driver context whose log lines are captured, so tests can check what the gateway said. */
export function capturingContext(): DriverContext & { logs: { msg: string; [k: string]: unknown }[] } {
  const logs: { msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as { msg: string }) });
  return { logger, metrics: createGatewayMetrics(), sink: { readings: () => undefined, event: () => undefined }, logs };
}

export class DriverFactory {
  readonly connections: ModbusConnection[] = [];

  connection(transport: ModbusTransport, concurrency = 1): ModbusConnection {
    const c = new ModbusConnection({ transport, concurrency, reconnectDelayMs: 0, logger: silent });
    this.connections.push(c);
    return c;
  }

  driver(connection: ModbusConnection, profileId: string, unitId: number, overrides: Partial<ModbusDeviceOptions> = {}, ctx: DriverContext = capturingContext()): ModbusDeviceDriver {
    return new ModbusDeviceDriver(
      { id: `unit-${unitId}`, scheme: 'modbus+tcp', unitId, intervalMs: 1000, timeoutMs: 300, retries: 0, maxGap: 16, backoff: { initialMs: 1000, maxMs: 8000 }, staleAfterPolls: 3, ...overrides },
      profile(profileId),
      connection,
      ctx,
    );
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }
}
