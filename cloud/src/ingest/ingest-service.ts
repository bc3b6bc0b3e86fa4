import {
  commandResultCodec,
  resendResultDataSchema,
  deviceEventSchema,
  eventEnvelopeCodec,
  formatIssues,
  type DeviceEvent,
  gatewayStateCodec,
  parseTopic,
  telemetryEnvelopeCodec,
  TopicError,
  type GatewayAddress,
  type ParsedTopic,
} from '@gatehouse/contracts';
import type { Reading } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { CommandService } from '../commands/command-service.js';
import { screenReadings, type RejectedReading } from './reading-screen.js';
import type { CloudMetrics } from '../status/metrics.js';
import type { DeadLetterStore } from '../storage/dead-letters.js';
import type { EventStore } from '../storage/event-store.js';
import type { SiteRegistry } from '../storage/site-registry.js';
import type { TimeSeriesStore } from '../storage/time-series-store.js';

export type IngestOutcome =
  | { result: 'stored'; kind: ParsedTopic['kind']; inserted: number; duplicates: number | null; rejected?: number }
  | { result: 'dead_letter'; reason: string }
  | { result: 'ignored'; reason: string };

export interface IngestDependencies {
  timeSeries: TimeSeriesStore;
  events: EventStore;
  registry: SiteRegistry;
  deadLetters: DeadLetterStore;
  metrics: CloudMetrics;
  logger: Logger;
  /** the audit log of commands, told each result */
  commands?: Pick<CommandService, 'recordResult'>;
  /** readings stamped further ahead of the cloud's clock than this are refused; default 10 minutes */
  maxFutureMs?: number;
}

const DEFAULT_MAX_FUTURE_MS = 10 * 60_000;

/**
 * Turns one MQTT message into stored state. Resolves once everything is committed (the caller then
 * acknowledges the message); rejects only when storage failed, so that the message is retried.
 * A message that can never be stored goes to the dead-letter table with its reason and resolves.
 */
export class IngestService {
  private readonly warnedUndeclared = new Set<string>();

  constructor(private readonly deps: IngestDependencies) {}

  async handle(topic: string, payload: Buffer): Promise<IngestOutcome> {
    let parsed: ParsedTopic;
    try {
      parsed = parseTopic(topic);
    } catch (err) {
      if (err instanceof TopicError) return this.reject(topic, payload, 'bad_topic', err.message);
      throw err;
    }
    const address: GatewayAddress = { site: parsed.site, gateway: parsed.gateway };
    const endTimer = this.deps.metrics.ingestDuration.startTimer({ kind: parsed.kind });
    try {
      return await this.dispatch(topic, parsed, address, payload);
    } catch (err) {
      // PostgreSQL classes 22 (data exception) and 23 (integrity): this message will never store.
      // Anything else (connection lost, database down) is worth retrying.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && /^2[23]/.test(code)) return this.reject(topic, payload, 'storage_refused', `storage refused the message: ${(err as Error).message}`);
      throw err;
    } finally {
      endTimer();
    }
  }

  private async dispatch(topic: string, parsed: ParsedTopic, address: GatewayAddress, payload: Buffer): Promise<IngestOutcome> {
    {
      switch (parsed.kind) {
        case 'telemetry':
        case 'replay':
          return await this.ingestTelemetry(topic, address, payload);
        case 'events':
          return await this.ingestEvents(topic, address, payload);
        case 'state':
          return await this.ingestState(topic, address, payload);
        case 'cmd-result':
          return await this.ingestCommandResult(topic, address, payload);
        default:
          return { result: 'ignored', reason: `the cloud does not ingest ${parsed.kind} messages` };
      }
    }
  }

  private async ingestTelemetry(topic: string, address: GatewayAddress, payload: Buffer): Promise<IngestOutcome> {
    const decoded = telemetryEnvelopeCodec.decode(payload);
    if (!decoded.ok) return this.reject(topic, payload, decoded.error.code, decoded.error.message);
    const batch = decoded.value;
    const { accepted, rejected } = screenReadings(batch.readings, Date.now(), this.deps.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS);
    if (rejected.length > 0) await this.rejectReadings(topic, rejected);
    const { inserted, duplicates } = await this.deps.timeSeries.write(address, accepted);
    const lastRead = new Map<string, number>();
    for (const r of accepted) lastRead.set(r.device, Math.max(lastRead.get(r.device) ?? 0, r.ts));
    const undeclared = lastRead.size > 0 ? await this.deps.registry.recordTelemetry(address, batch.lastSeq, lastRead) : [];
    if (undeclared.length > 0) this.flagUndeclared(address, undeclared, accepted);
    // A replay tells of the past; whether a meter answers now is for the live readings to say.
    if (!batch.historical && accepted.length > 0) await this.deps.registry.recordCommErrors(address.site, accepted);
    await this.deps.registry.recordCounterEvents(address.site, accepted);
    await this.deps.registry.recordBatch(address, 'telemetry', batch.seq, batch.lastSeq, batch.historical);
    this.deps.metrics.messages.inc({ kind: 'telemetry', result: 'stored' });
    this.deps.metrics.readingsStored.inc(inserted);
    if (duplicates !== null) this.deps.metrics.readingsDuplicate.inc(duplicates);
    return { result: 'stored', kind: 'telemetry', inserted, duplicates, rejected: rejected.length };
  }

  /** Bad readings go to the dead letters together, with the reason of each; the rest of the batch is stored. */
  private async rejectReadings(topic: string, rejected: readonly RejectedReading[]): Promise<void> {
    for (const r of rejected) this.deps.metrics.readingsRejected.inc({ reason: r.reason });
    const reason = `${rejected.length} reading(s) refused, the rest of the batch stored: ${rejected.slice(0, 3).map((r) => r.detail).join('; ')}${rejected.length > 3 ? ` (+${rejected.length - 3} more)` : ''}`;
    this.deps.logger.warn({ topic, refused: rejected.length, first: rejected[0]?.detail }, 'readings refused');
    await this.deps.deadLetters.add(topic, reason.slice(0, 2000), Buffer.from(JSON.stringify(rejected.map(({ index, reason, detail, reading }) => ({ index, reason, detail, reading })))));
  }

  private flagUndeclared(address: GatewayAddress, devices: readonly string[], readings: readonly Reading[]): void {
    const set = new Set(devices);
    this.deps.metrics.readingsUnknownDevice.inc(readings.filter((r) => set.has(r.device)).length);
    for (const device of devices) {
      const key = `${address.site}/${device}`;
      if (this.warnedUndeclared.has(key)) continue;
      this.warnedUndeclared.add(key);
      this.deps.logger.warn({ ...address, device }, 'readings for a device the gateway never declared: stored, and counted as unknown');
    }
  }

  private async ingestEvents(topic: string, address: GatewayAddress, payload: Buffer): Promise<IngestOutcome> {
    const decoded = eventEnvelopeCodec.decode(payload);
    if (!decoded.ok) return this.reject(topic, payload, decoded.error.code, decoded.error.message);
    // Each event on its own: a malformed one is set aside with its reason, the others are stored.
    const accepted: DeviceEvent[] = [];
    const refused: { index: number; detail: string; event: unknown }[] = [];
    decoded.value.events.forEach((event, index) => {
      const checked = deviceEventSchema.safeParse(event);
      if (checked.success) accepted.push(checked.data);
      else refused.push({ index, event, detail: formatIssues(checked.error.issues, 3).map((p) => `events[${index}]${p.startsWith('(root)') ? p.slice(6) : `.${p}`}`).join('; ') });
    });
    if (refused.length > 0) {
      this.deps.metrics.eventsRejected.inc(refused.length);
      const reason = `${refused.length} event(s) refused, the rest of the batch stored: ${refused.slice(0, 3).map((r) => r.detail).join('; ')}${refused.length > 3 ? ` (+${refused.length - 3} more)` : ''}`;
      this.deps.logger.warn({ topic, refused: refused.length, first: refused[0]?.detail }, 'events refused');
      await this.deps.deadLetters.add(topic, reason.slice(0, 2000), Buffer.from(JSON.stringify(refused)));
    }
    await this.deps.registry.ensureSite(address.site);
    const { inserted, duplicates } = accepted.length > 0 ? await this.deps.events.write(address, accepted) : { inserted: 0, duplicates: 0 };
    // A gateway that only has events to say (no meters) is alive all the same, and so is each device
    // that reported: doors and cameras get their last-seen time from their events.
    if (!decoded.value.historical) await this.deps.registry.recordHeardFrom(address);
    const lastEvent = new Map<string, number>();
    for (const e of accepted) lastEvent.set(e.device, Math.max(lastEvent.get(e.device) ?? 0, e.ts));
    await this.deps.registry.recordDeviceEvents(address, lastEvent);
    await this.deps.registry.recordBatch(address, 'events', decoded.value.seq, decoded.value.lastSeq, decoded.value.historical);
    this.deps.metrics.messages.inc({ kind: 'events', result: 'stored' });
    this.deps.metrics.eventsStored.inc(inserted);
    return { result: 'stored', kind: 'events', inserted, duplicates };
  }

  private async ingestState(topic: string, address: GatewayAddress, payload: Buffer): Promise<IngestOutcome> {
    // An empty retained message clears the state topic; nothing to record.
    if (payload.length === 0) return { result: 'ignored', reason: 'empty retained state (cleared)' };
    const decoded = gatewayStateCodec.decode(payload);
    if (!decoded.ok) return this.reject(topic, payload, decoded.error.code, decoded.error.message);
    const state = decoded.value;
    await this.deps.registry.recordGatewayState(address, { status: state.status, version: state.version, devices: state.devices, streams: state.streams });
    this.deps.logger.info({ ...address, status: state.status }, 'gateway state');
    this.deps.metrics.messages.inc({ kind: 'state', result: 'stored' });
    return { result: 'stored', kind: 'state', inserted: 1, duplicates: 0 };
  }

  private async ingestCommandResult(topic: string, address: GatewayAddress, payload: Buffer): Promise<IngestOutcome> {
    const decoded = commandResultCodec.decode(payload);
    if (!decoded.ok) return this.reject(topic, payload, decoded.error.code, decoded.error.message);
    const result = decoded.value;
    this.deps.metrics.commandResults.inc({ command: result.command, status: result.status });
    const lost = result.command === 'resend' ? resendResultDataSchema.safeParse(result.data) : undefined;
    if (lost?.success && lost.data.unavailable.length > 0) {
      await this.deps.registry.recordLostRanges(address, lost.data.stream, lost.data.unavailable);
      const entries = lost.data.unavailable.reduce((n, [a, b]) => n + b - a + 1, 0);
      this.deps.metrics.rangesLost.inc({ stream: lost.data.stream }, entries);
      const skipped = lost.data.skipped ?? [];
      if (skipped.length > 0) {
        this.deps.logger.warn({ ...address, stream: lost.data.stream, ranges: skipped }, 'journal entries the gateway skipped after an unclean stop (power cut): never issued, or lost with the power before they were synced; recorded as lost');
      }
      if (skipped.length === 0 || lost.data.unavailable.some(([a, b]) => !skipped.some(([c, d]) => c <= a && b <= d))) {
        this.deps.logger.error({ ...address, stream: lost.data.stream, ranges: lost.data.unavailable }, 'journal entries lost on the way and no longer at the gateway: recorded as lost');
      }
    }
    await this.deps.commands?.recordResult(address, result);
    const level = result.status === 'ok' || result.status === 'duplicate' ? 'info' : 'warn';
    this.deps.logger[level]({ ...address, command: result.command, id: result.id, status: result.status, detail: result.detail }, 'command result');
    return { result: 'stored', kind: 'cmd-result', inserted: 0, duplicates: 0 };
  }

  private async reject(topic: string, payload: Buffer, code: string, reason: string): Promise<IngestOutcome> {
    this.deps.logger.warn({ topic, code, reason, bytes: payload.length }, 'message rejected to dead letters');
    await this.deps.deadLetters.add(topic, reason, payload);
    this.deps.metrics.deadLetters.inc({ code });
    this.deps.metrics.messages.inc({ kind: 'any', result: 'dead_letter' });
    return { result: 'dead_letter', reason };
  }
}
