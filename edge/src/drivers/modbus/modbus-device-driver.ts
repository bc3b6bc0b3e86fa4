import type { DeviceDescriptor, Quality, Reading } from '@gatehouse/contracts';
import type { DeviceDriver, DriverContext } from '../driver.js';
import { CounterGuard, type CounterLimits } from './counter-guard.js';
import { ModbusReadError, type ModbusConnection } from './modbus-connection.js';
import { pointSpan, type DeviceProfile, type ProfilePoint } from './profile.js';
import { planReads, type PlannedRead } from './read-plan.js';
import { decodePoint, type TransformerRatios } from './register-decoding.js';

export interface ModbusDeviceOptions {
  id: string;
  name?: string;
  /** driver scheme from the config, e.g. modbus+tcp */
  scheme: string;
  unitId: number;
  intervalMs: number;
  timeoutMs: number;
  /** extra attempts of a read that timed out, while the device is considered healthy */
  retries: number;
  /** unwanted registers a merged read may bridge */
  maxGap: number;
  /** after an unreachable poll, wait initialMs, doubling up to maxMs, before the next attempt */
  backoff: { initialMs: number; maxMs: number };
  /** polls in a row with every register unchanged after which gauges are flagged stale */
  staleAfterPolls: number;
  /** per-metric counter limits, over the profile's */
  counterLimits?: Record<string, CounterLimits>;
  /** voltage and current transformer ratios, for profiles whose points are on the secondary side */
  ratios?: TransformerRatios;
}

/**
 * Polls one Modbus device: every point of its profile once per interval, in as few reads as possible.
 * A device that does not answer is backed off, so it costs its bus at most one timeout per backoff
 * period and never holds up its neighbours for longer than that.
 */
export class ModbusDeviceDriver implements DeviceDriver {
  readonly descriptor: DeviceDescriptor;
  plan: PlannedRead[];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private consecutiveFailures = 0;
  private nextAttemptAt = 0;
  private lastSnapshot = '';
  private unchangedPolls = 0;
  private readonly counterGuards = new Map<string, CounterGuard>();

  constructor(
    private readonly options: ModbusDeviceOptions,
    private readonly profile: DeviceProfile,
    private readonly connection: ModbusConnection,
    private readonly ctx: DriverContext,
  ) {
    this.descriptor = { id: options.id, kind: 'meter', driver: options.scheme, profile: profile.id, ...(options.name ? { name: options.name } : {}) };
    this.plan = planReads(profile.points, { maxGap: profile.maxGap ?? options.maxGap });
    for (const point of profile.points) {
      if (point.kind !== 'counter') continue;
      const limits = { rolloverAt: point.rolloverAt, maxIncreasePerHour: point.maxIncreasePerHour, ...options.counterLimits?.[point.metric] };
      this.counterGuards.set(point.metric, new CounterGuard(limits));
    }
  }

  /** True while the device is backed off after failing to answer. */
  get backedOff(): boolean {
    return Date.now() < this.nextAttemptAt;
  }

  persistentState(): Record<string, { value: number; ts: number }> {
    const state: Record<string, { value: number; ts: number }> = {};
    for (const [metric, guard] of this.counterGuards) {
      const trusted = guard.lastTrusted;
      if (trusted) state[metric] = trusted;
    }
    return state;
  }

  restoreState(state: unknown): void {
    if (typeof state !== 'object' || state === null) return;
    for (const [metric, trusted] of Object.entries(state as Record<string, unknown>)) {
      const t = trusted as { value?: unknown; ts?: unknown };
      if (typeof t?.value === 'number' && typeof t.ts === 'number') this.counterGuards.get(metric)?.resumeFrom({ value: t.value, ts: t.ts });
    }
  }

  start(): void {
    // Devices with the same interval would otherwise all poll in the same instant, every interval:
    // spreading their phases evenly smooths the load on buses, broker and CPU.
    const phase = Math.floor(Math.random() * Math.min(this.options.intervalMs, 1000));
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => this.tick(), this.options.intervalMs);
      this.tick();
    }, phase);
  }

  private tick(): void {
    // A poll that overlaps the previous one is skipped and counted, never queued: a queue of late polls
    // would deliver older and older data.
    if (this.inFlight) {
      this.ctx.metrics.pollsSkipped.inc({ device: this.options.id, reason: 'overlap' });
      return;
    }
    if (this.backedOff) {
      this.ctx.metrics.pollsSkipped.inc({ device: this.options.id, reason: 'backoff' });
      return;
    }
    this.inFlight = this.pollOnce()
      .then((readings) => {
        if (readings.length > 0) this.ctx.sink.readings(readings);
      })
      .catch((err: Error) => this.ctx.logger.error({ device: this.options.id, err: err.message }, 'poll failed unexpectedly'))
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  /** Reads every point once and returns the readings (also used by the commissioning tools). */
  async pollOnce(): Promise<Reading[]> {
    const endTimer = this.ctx.metrics.pollDuration.startTimer({ device: this.options.id });
    const readings: Reading[] = [];
    const snapshot: number[][] = [];
    let unreachable: ModbusReadError | undefined;

    for (const read of this.plan) {
      if (unreachable) {
        // One unanswered read is enough: the rest of this poll would only cost the bus more timeouts.
        readings.push(...this.failedReadings(read.points, 'comm_error', `not read: ${unreachable.message} earlier in this poll`));
        continue;
      }
      try {
        const words = await this.readWithRetries(read);
        snapshot.push(words);
        const ts = Date.now();
        for (const point of read.points) readings.push(this.decodedReading(point, words, read.address, ts));
      } catch (err) {
        const failure = err instanceof ModbusReadError ? err : new ModbusReadError('bad_response', (err as Error).message);
        this.ctx.logger.warn(
          { device: this.options.id, endpoint: this.connection.endpoint, unitId: this.options.unitId, function: read.function, address: read.address, length: read.length, problem: failure.message },
          'modbus read failed',
        );
        const quality: Quality = failure.kind === 'exception' && !failure.deviceUnreachable ? 'device_exception' : 'comm_error';
        readings.push(...this.failedReadings(read.points, quality, failure.message));
        if (failure.deviceUnreachable) unreachable = failure;
        if (failure.exceptionCode === 2 && read.points.length > 1) this.splitRefusedRead(read);
      }
    }

    this.updateReachability(unreachable);
    this.flagStale(readings, snapshot, unreachable === undefined && snapshot.length === this.plan.length);
    for (const r of readings) this.ctx.metrics.readings.inc({ quality: r.quality });
    endTimer();
    return readings;
  }

  /**
   * Some meters refuse a read that spans an address they do not implement. When a merged read gets
   * "illegal data address", split it at its widest gap from then on; a read that is refused again is
   * split again, down to exact register spans. The plan settles on the fewest reads the meter accepts.
   */
  private splitRefusedRead(read: PlannedRead): void {
    const spans = read.points.map((p) => pointSpan(p)).sort((a, b) => a.start - b.start);
    let widestGap = 0;
    let end = spans[0]?.end ?? 0;
    for (const span of spans.slice(1)) {
      widestGap = Math.max(widestGap, span.start - end);
      end = Math.max(end, span.end);
    }
    if (widestGap <= 0) return;
    const parts = planReads(read.points, { maxGap: widestGap - 1 });
    const index = this.plan.indexOf(read);
    if (index < 0) return;
    this.plan = [...this.plan.slice(0, index), ...parts, ...this.plan.slice(index + 1)];
    this.ctx.logger.warn(
      { device: this.options.id, address: read.address, length: read.length, splitInto: parts.map((p) => `${p.address}+${p.length}`), readsNow: this.plan.length },
      'device refused a merged read; splitting it at its widest gap',
    );
  }

  private async readWithRetries(read: PlannedRead): Promise<number[]> {
    // A device already known to be failing gets no retries: each one would cost the bus another timeout.
    const attempts = this.consecutiveFailures === 0 ? 1 + this.options.retries : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const words = await this.connection.read({ unitId: this.options.unitId, fn: read.function, address: read.address, length: read.length, timeoutMs: this.options.timeoutMs });
        this.ctx.metrics.modbusRequests.inc({ device: this.options.id, result: 'ok' });
        return words;
      } catch (err) {
        const failure = err as ModbusReadError;
        this.ctx.metrics.modbusRequests.inc({ device: this.options.id, result: failure.kind ?? 'bad_response' });
        if (attempt >= attempts || failure.kind !== 'timeout') throw err;
      }
    }
  }

  private decodedReading(point: ProfilePoint, words: number[], blockAddress: number, ts: number): Reading {
    const base = { device: this.options.id, metric: point.metric, unit: point.unit, ...kindOf(point), ts };
    const value = decodePoint(point, words, blockAddress, this.options.ratios);
    if (!Number.isFinite(value)) return { ...base, value: null, quality: 'bad_value', detail: `register decoded to ${String(value)}` };
    const guard = this.counterGuards.get(point.metric);
    if (!guard) return { ...base, value, quality: 'good' };
    const verdict = guard.check(value, ts);
    if (verdict.quality !== 'good') {
      this.ctx.logger.warn({ device: this.options.id, metric: point.metric, quality: verdict.quality, problem: verdict.detail }, 'counter reading not trusted');
    }
    return { ...base, value, quality: verdict.quality, ...(verdict.detail ? { detail: verdict.detail } : {}) };
  }

  private failedReadings(points: ProfilePoint[], quality: Quality, detail: string): Reading[] {
    const ts = Date.now();
    return points.map((p) => ({ device: this.options.id, metric: p.metric, unit: p.unit, ...kindOf(p), ts, value: null, quality, detail }));
  }

  private updateReachability(unreachable: ModbusReadError | undefined): void {
    if (!unreachable) {
      if (this.consecutiveFailures > 0) this.ctx.logger.info({ device: this.options.id, afterFailures: this.consecutiveFailures }, 'modbus device answering again');
      this.consecutiveFailures = 0;
      this.nextAttemptAt = 0;
      this.ctx.metrics.deviceUp.set({ device: this.options.id }, 1);
      return;
    }
    this.consecutiveFailures++;
    const { initialMs, maxMs } = this.options.backoff;
    const delay = Math.min(initialMs * 2 ** (this.consecutiveFailures - 1), maxMs);
    this.nextAttemptAt = Date.now() + delay;
    this.ctx.metrics.deviceUp.set({ device: this.options.id }, 0);
    this.ctx.logger.warn(
      { device: this.options.id, endpoint: this.connection.endpoint, unitId: this.options.unitId, failures: this.consecutiveFailures, nextAttemptInMs: delay, problem: unreachable.message },
      'modbus device not answering; backing off',
    );
  }

  /**
   * A converter that keeps answering from a cache, or a frozen meter, serves the very same registers
   * poll after poll. A live meter never does (currents and power always move), so when every register
   * is unchanged for `staleAfterPolls` polls, its gauges are flagged stale.
   */
  private flagStale(readings: Reading[], snapshot: number[][], complete: boolean): void {
    if (!complete) return;
    const signature = snapshot.map((words) => words.join(',')).join('|');
    this.unchangedPolls = signature === this.lastSnapshot ? this.unchangedPolls + 1 : 0;
    this.lastSnapshot = signature;
    if (this.unchangedPolls < this.options.staleAfterPolls) return;
    const gauges = new Set(this.profile.points.filter((p) => p.kind === 'gauge').map((p) => p.metric));
    for (const r of readings) {
      if (r.quality === 'good' && gauges.has(r.metric)) {
        r.quality = 'stale';
        r.detail = `every register unchanged for ${this.unchangedPolls} polls`;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}

/** Counters say so on the wire; gauges, the default, carry nothing. */
function kindOf(point: ProfilePoint): { kind?: 'counter' } {
  return point.kind === 'counter' ? { kind: 'counter' } : {};
}
