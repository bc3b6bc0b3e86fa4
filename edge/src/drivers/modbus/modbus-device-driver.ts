import type { DeviceDescriptor, Quality, Reading } from '@gatehouse/contracts';
import type { DeviceDriver, DriverContext } from '../driver.js';
import type { ModbusTcpConnection } from './modbus-tcp-connection.js';
import { ModbusReadError } from './modbus-tcp-connection.js';
import type { DeviceProfile } from './profile.js';
import { planReads, type PlannedRead } from './read-plan.js';
import { decodePoint } from './register-decoding.js';

export interface ModbusDeviceOptions {
  id: string;
  name?: string;
  unitId: number;
  intervalMs: number;
  /** unwanted registers a merged read may bridge */
  maxGap: number;
  scheme: string;
}

/** Polls one Modbus device: every point of its profile, once per interval, in as few reads as possible. */
export class ModbusDeviceDriver implements DeviceDriver {
  readonly descriptor: DeviceDescriptor;
  private readonly plan: PlannedRead[];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly options: ModbusDeviceOptions,
    private readonly profile: DeviceProfile,
    private readonly connection: ModbusTcpConnection,
    private readonly ctx: DriverContext,
  ) {
    this.descriptor = { id: options.id, kind: 'meter', driver: options.scheme, profile: profile.id, ...(options.name ? { name: options.name } : {}) };
    this.plan = planReads(profile.points, { maxGap: options.maxGap });
  }

  get readsPerPoll(): number {
    return this.plan.length;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.tick();
  }

  private tick(): void {
    // A poll that overlaps the previous one is skipped and counted, never queued: a queue of late polls
    // would deliver older and older data.
    if (this.inFlight) {
      this.ctx.metrics.pollsSkipped.inc({ device: this.options.id });
      return;
    }
    this.inFlight = this.pollOnce()
      .then((readings) => this.ctx.sink.readings(readings))
      .catch((err: Error) => this.ctx.logger.error({ device: this.options.id, err: err.message }, 'poll failed unexpectedly'))
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  /** Reads every point once and returns the readings (also used by commissioning tools). */
  async pollOnce(): Promise<Reading[]> {
    const endTimer = this.ctx.metrics.pollDuration.startTimer({ device: this.options.id });
    const readings: Reading[] = [];
    for (const read of this.plan) {
      try {
        const words = await this.connection.read(this.options.unitId, read.function, read.address, read.length);
        const ts = Date.now();
        this.ctx.metrics.modbusRequests.inc({ device: this.options.id, result: 'ok' });
        for (const point of read.points) {
          const value = decodePoint(point, words, read.address);
          const good = Number.isFinite(value);
          readings.push({
            device: this.options.id,
            metric: point.metric,
            unit: point.unit,
            ts,
            value: good ? value : null,
            quality: good ? 'good' : 'bad_value',
            ...(good ? {} : { detail: `decoded ${String(value)}` }),
          });
        }
      } catch (err) {
        const failure = err instanceof ModbusReadError ? err : new ModbusReadError('error', (err as Error).message);
        this.ctx.metrics.modbusRequests.inc({ device: this.options.id, result: failure.kind });
        this.ctx.logger.warn(
          { device: this.options.id, endpoint: this.connection.endpoint, unitId: this.options.unitId, address: read.address, length: read.length, problem: failure.message },
          'modbus read failed',
        );
        const quality: Quality = failure.kind === 'exception' ? 'device_exception' : 'comm_error';
        const ts = Date.now();
        for (const point of read.points) {
          readings.push({ device: this.options.id, metric: point.metric, unit: point.unit, ts, value: null, quality, detail: failure.message });
        }
      }
    }
    for (const r of readings) this.ctx.metrics.readings.inc({ quality: r.quality });
    endTimer();
    return readings;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}
