import type { DeviceDescriptor, DeviceEvent, Reading } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../status/metrics.js';

/** Where drivers deliver what their devices produce. */
export interface DeviceSink {
  readings(readings: Reading[]): void;
  event(event: DeviceEvent): void;
}

export interface DriverContext {
  logger: Logger;
  metrics: GatewayMetrics;
  sink: DeviceSink;
}

/**
 * A connection to one device. Polling drivers (Modbus) run their own schedule between start and stop;
 * event drivers (access panels, cameras) keep a subscription open.
 */
export interface DeviceDriver {
  readonly descriptor: DeviceDescriptor;
  start(): void;
  stop(): Promise<void>;
  /** state worth keeping across a gateway restart (JSON), e.g. the last trusted counter values */
  persistentState?(): unknown;
  /** takes back what persistentState() returned before the restart */
  restoreState?(state: unknown): void;
}
