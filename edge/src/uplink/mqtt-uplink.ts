import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { commandCodec, commandResultCodec, gatewayStateCodec, MAX_COMMAND_LIFETIME_MS, parseTopic, topics, type Command, type CommandResult, type DeviceDescriptor, type GatewayAddress, type GatewayState } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { CommandLedger } from '../commands/command-ledger.js';
import type { GatewayMetrics } from '../status/metrics.js';
import type { JournalPublisher } from './journal-publisher.js';

export interface MqttUplinkOptions {
  address: GatewayAddress;
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  keepaliveSeconds: number;
  /** TLS: CA, client certificate and key (PEM), and whether to verify the broker's certificate */
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  /** how often the retained state (with the backlog) is republished while online */
  statePeriodMs: number;
  devices: DeviceDescriptor[];
  version: string;
  logger: Logger;
  metrics: GatewayMetrics;
  telemetry: JournalPublisher;
  events: JournalPublisher;
  /** the commands taken so far (refuses replays), and the audit file */
  commands: CommandLedger;
  /** executes a command from the cloud; resolves with its outcome */
  onCommand: (name: string, command: Command) => Promise<Pick<CommandResult, 'status' | 'detail' | 'data'>>;
}

/**
 * The gateway's MQTT connection: announces the gateway with a retained birth message and a retained
 * last will, keeps its state (backlog included) up to date, and lets the journal publishers deliver
 * over it while it is up.
 */
/** Longest command result detail the contract takes. */
const MAX_RESULT_DETAIL = 512;

export class MqttUplink {
  private client: MqttClient | undefined;
  private stateTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MqttUplinkOptions) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  state(status: 'online' | 'offline'): GatewayState {
    return {
      v: 1,
      status,
      ts: Date.now(),
      version: this.options.version,
      ...(status === 'online' ? { devices: this.options.devices } : {}),
      streams: { telemetry: this.options.telemetry.state(), events: this.options.events.state() },
    };
  }

  start(): void {
    const { address, logger, metrics } = this.options;
    const stateTopic = topics.state(address);
    const clientOptions: IClientOptions = {
      clientId: this.options.clientId,
      username: this.options.username,
      password: this.options.password,
      keepalive: this.options.keepaliveSeconds,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // A persistent session: the broker keeps the command subscription and queues commands (QoS 1)
      // published while the gateway is away, a reconnect or a restart, and delivers them when it is
      // back. Each command carries its expiry, and the command ledger refuses one that has passed: a
      // queued door command runs within its TTL or not at all.
      clean: false,
      ...(this.options.tls ?? {}),
      will: { topic: stateTopic, payload: gatewayStateCodec.encode({ v: 1, status: 'offline', ts: Date.now() }), qos: 1, retain: true },
    };
    const client = connect(this.options.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      metrics.uplinkConnected.set(1);
      logger.info({ url: this.options.url, clientId: this.options.clientId }, 'uplink connected');
      client.publish(stateTopic, gatewayStateCodec.encode(this.state('online')), { qos: 1, retain: true });
      this.options.telemetry.attach(client);
      this.options.events.attach(client);
      client.subscribe(topics.gatewayCommandFilter(address), { qos: 1 }, (err) => {
        if (err) logger.warn({ err: err.message }, 'cannot subscribe to commands');
      });
    });
    client.on('message', (topic, payload) => void this.handleCommand(topic, payload));
    client.on('close', () => {
      metrics.uplinkConnected.set(0);
      this.options.telemetry.detach();
      this.options.events.detach();
    });
    client.on('offline', () => logger.warn({ url: this.options.url }, 'uplink offline; readings wait in the journal until the broker is back'));
    client.on('error', (err) => logger.warn({ url: this.options.url, err: err.message }, 'uplink error'));
    this.stateTimer = setInterval(() => {
      if (client.connected) client.publish(stateTopic, gatewayStateCodec.encode(this.state('online')), { qos: 1, retain: true });
    }, this.options.statePeriodMs);
  }

  /** Publishes a message with QoS 1; resolves on PUBACK. */
  async publish(topic: string, payload: Buffer): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected to the broker');
    await client.publishAsync(topic, payload, { qos: 1 });
  }

  /** Publishes the current state now (retained). */
  publishState(): void {
    if (this.client?.connected) this.client.publish(topics.state(this.options.address), gatewayStateCodec.encode(this.state('online')), { qos: 1, retain: true });
  }

  private async handleCommand(topic: string, payload: Buffer): Promise<void> {
    const { logger, address } = this.options;
    let name: string;
    try {
      const parsed = parseTopic(topic);
      if (parsed.kind !== 'cmd') return;
      name = parsed.command;
    } catch {
      return;
    }
    const decoded = commandCodec.decode(payload);
    if (!decoded.ok) {
      logger.warn({ topic, problem: decoded.error.message }, 'command rejected');
      return;
    }
    const command = decoded.value;
    const reply = async (status: CommandResult['status'], fullDetail?: string, data?: Record<string, unknown>) => {
      // The result contract holds 512 characters of detail; a device's long refusal must not cost the result.
      const detail = fullDetail && fullDetail.length > MAX_RESULT_DETAIL ? `${fullDetail.slice(0, MAX_RESULT_DETAIL - 1)}…` : fullDetail;
      this.options.commands.audit({ name, command, result: { status, ...(detail ? { detail } : {}) } });
      let result: Buffer;
      try {
        result = commandResultCodec.encode({ v: 1, id: command.id, command: name, status, ...(detail ? { detail } : {}), ...(data ? { data } : {}), ts: Date.now() });
      } catch (err) {
        logger.error({ command: command.id, err: (err as Error).message }, 'command result does not fit the result contract; sent without its data');
        result = commandResultCodec.encode({ v: 1, id: command.id, command: name, status, ...(detail ? { detail } : {}), ts: Date.now() });
      }
      await this.publish(topics.commandResult(address), result).catch((err: Error) => logger.warn({ err: err.message, command: command.id }, 'cannot publish command result'));
    };
    try {
      await this.runCommand(name, command, reply);
    } catch (err) {
      // Nothing a command does may take the gateway down (a full disk under the ledger, a driver bug).
      logger.error({ command: name, id: command.id, err: (err as Error).message }, 'command failed');
      await reply('failed', `the gateway could not run the command: ${(err as Error).message}`).catch(() => undefined);
    }
  }

  private async runCommand(name: string, command: Command, reply: (status: CommandResult['status'], detail?: string, data?: Record<string, unknown>) => Promise<void>): Promise<void> {
    const { logger } = this.options;
    if (command.expiresAt - command.issuedAt > MAX_COMMAND_LIFETIME_MS) {
      return reply('rejected', `a command may live ${MAX_COMMAND_LIFETIME_MS / 60_000} min at most (issued ${new Date(command.issuedAt).toISOString()}, expires ${new Date(command.expiresAt).toISOString()})`);
    }
    const refusal = this.options.commands.take(command);
    if (refusal === 'duplicate') {
      logger.warn({ command: name, id: command.id, issuedBy: command.issuedBy }, 'command refused: this id was taken already (redelivered or replayed)');
      return reply('duplicate', 'this command id was taken already');
    }
    if (refusal === 'expired') {
      logger.warn({ command: name, id: command.id, issuedBy: command.issuedBy }, 'command refused: expired');
      return reply('expired', `expired at ${new Date(command.expiresAt).toISOString()}`);
    }
    logger.info({ command: name, id: command.id, issuedBy: command.issuedBy, args: command.args }, 'command received');
    let outcome: Awaited<ReturnType<MqttUplinkOptions['onCommand']>>;
    try {
      outcome = await this.options.onCommand(name, command);
    } catch (err) {
      outcome = { status: 'failed', detail: (err as Error).message };
    }
    await reply(outcome.status, outcome.detail, outcome.data);
  }

  /** Publishes the retained offline state and disconnects cleanly. */
  async stop(): Promise<void> {
    if (this.stateTimer) clearInterval(this.stateTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) => client.publish(topics.state(this.options.address), gatewayStateCodec.encode(this.state('offline')), { qos: 1, retain: true }, () => resolve()));
    }
    this.options.telemetry.detach();
    this.options.events.detach();
    await client.endAsync();
  }
}
