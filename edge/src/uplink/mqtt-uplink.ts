import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { gatewayStateCodec, telemetryPayload, topics, type DeviceDescriptor, type GatewayAddress } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../status/metrics.js';
import type { OutboxBatch, TelemetryOutbox } from './telemetry-outbox.js';

export interface MqttUplinkOptions {
  address: GatewayAddress;
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  keepaliveSeconds: number;
  maxInFlightBatches: number;
  devices: DeviceDescriptor[];
  version: string;
  logger: Logger;
  metrics: GatewayMetrics;
}

/**
 * Publishes the outbox's batches to the broker with QoS 1, in sequence order, a bounded number in
 * flight. Announces the gateway with a retained birth message and arms a retained last will, so the
 * cloud sees the gateway go offline even when it dies without a word.
 */
export class MqttUplink {
  private client: MqttClient | undefined;

  constructor(
    private readonly options: MqttUplinkOptions,
    private readonly outbox: TelemetryOutbox,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
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
      clean: true,
      will: {
        topic: stateTopic,
        payload: gatewayStateCodec.encode({ v: 1, status: 'offline', ts: Date.now() }),
        qos: 1,
        retain: true,
      },
    };
    const client = connect(this.options.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      metrics.uplinkConnected.set(1);
      logger.info({ url: this.options.url, clientId: this.options.clientId }, 'uplink connected');
      const birth = gatewayStateCodec.encode({
        v: 1,
        status: 'online',
        ts: Date.now(),
        version: this.options.version,
        devices: this.options.devices,
        nextSeq: this.outbox.nextSeq,
      });
      client.publish(stateTopic, birth, { qos: 1, retain: true });
      this.pump();
    });
    client.on('close', () => metrics.uplinkConnected.set(0));
    client.on('offline', () => logger.warn({ url: this.options.url }, 'uplink offline; readings are kept until the broker is back'));
    client.on('error', (err) => logger.warn({ url: this.options.url, err: err.message }, 'uplink error'));
  }

  /** Publishes as many unsent batches as the in-flight window allows. */
  pump(): void {
    const client = this.client;
    if (!client?.connected) return;
    const room = this.options.maxInFlightBatches - this.outbox.inFlightCount;
    if (room <= 0) return;
    for (const batch of this.outbox.unsent(room)) this.publish(client, batch);
  }

  private publish(client: MqttClient, batch: OutboxBatch): void {
    batch.inFlight = true;
    const payload = telemetryPayload({ seq: batch.seq, sentAt: Date.now(), historical: false }, batch.fragments);
    // mqtt.js keeps an unacknowledged QoS 1 message and resends it after a reconnect; the callback
    // fires on PUBACK, or with an error if the client is ended first.
    client.publish(topics.telemetry(this.options.address), payload, { qos: 1 }, (err) => {
      if (err) {
        batch.inFlight = false;
        return;
      }
      this.outbox.acknowledge(batch);
      this.options.metrics.batchesPublished.inc();
      this.options.metrics.readingsPublished.inc(batch.count);
      this.options.metrics.uplinkQueue.set(this.outbox.size);
      this.pump();
    });
  }

  /** Publishes the retained offline state and disconnects cleanly. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      const death = gatewayStateCodec.encode({ v: 1, status: 'offline', ts: Date.now() });
      await new Promise<void>((resolve) => client.publish(topics.state(this.options.address), death, { qos: 1, retain: true }, () => resolve()));
    }
    await client.endAsync();
  }
}
