import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { cloudFilters, sharedFilter } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { IngestService } from './ingest-service.js';

export interface MqttSubscriberOptions {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  /** MQTT 5 shared-subscription group; several cloud instances in one group split the stream */
  sharedGroup?: string;
  /** topic filters to take (default: the live ones) */
  filters?: string[];
  /** TLS options for mqtts:// (PEM contents) */
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  logger: Logger;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;

/**
 * Feeds MQTT messages to the ingest and acknowledges each one only after it is committed, so a crash or
 * a database outage makes the broker deliver it again. The session is persistent (clean: false): while
 * the cloud is down the broker keeps its QoS 1 messages.
 */
export class MqttSubscriber {
  private client: MqttClient | undefined;
  private stopping = false;

  constructor(
    private readonly options: MqttSubscriberOptions,
    private readonly ingest: IngestService,
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): Promise<void> {
    const { logger } = this.options;
    const clientOptions: IClientOptions = {
      clientId: this.options.clientId,
      username: this.options.username,
      password: this.options.password,
      clean: false,
      ...(this.options.tls ?? {}),
      // We subscribe ourselves on every connect (see below).
      resubscribe: false,
      protocolVersion: this.options.sharedGroup ? 5 : 4,
      // MQTT 5 ends a session at disconnect unless it is given a lifetime: keep it for a day, so that a
      // cloud instance that crashes gets its unacknowledged messages again when it comes back.
      ...(this.options.sharedGroup ? { properties: { sessionExpiryInterval: 86_400 } } : {}),
      reconnectPeriod: 1000,
    };
    const client = connect(this.options.url, clientOptions);
    this.client = client;
    // mqtt.js sends the PUBACK when this callback is called; it hands us one message at a time.
    client.handleMessage = (packet, done) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.handleWithRetry(packet.topic, payload).then(
        () => done(),
        (err: Error) => done(err),
      );
    };
    client.on('error', (err) => logger.warn({ url: this.options.url, err: err.message }, 'ingest MQTT error'));
    client.on('offline', () => logger.warn({ url: this.options.url }, 'ingest offline from broker'));

    return new Promise((resolve, reject) => {
      const onFirstError = (err: Error) => reject(err);
      client.once('error', onFirstError);
      // Subscribe on every connection, resumed session or not: a broker restart can lose subscriptions
      // (shared ones especially) even when it restores the session, and subscribing again is harmless.
      const filters = (this.options.filters ?? Object.values(cloudFilters)).map((f) => (this.options.sharedGroup ? sharedFilter(this.options.sharedGroup, f) : f));
      let first = true;
      client.on('connect', () => {
        client.subscribe(filters, { qos: 1 }, (err) => {
          if (err) logger.error({ err: err.message }, 'ingest subscribe failed');
          else logger.info({ url: this.options.url, filters }, 'ingest subscribed');
          if (first) {
            first = false;
            client.removeListener('error', onFirstError);
            if (err) reject(err);
            else resolve();
          }
        });
      });
    });
  }

  /** Publishes a command (QoS 1) to a gateway. */
  async publish(topic: string, payload: Buffer): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected to the broker');
    await client.publishAsync(topic, payload, { qos: 1 });
  }

  /** Retries storage failures with backoff; meanwhile the broker holds the following messages. */
  private async handleWithRetry(topic: string, payload: Buffer): Promise<void> {
    let delay = RETRY_MIN_MS;
    for (;;) {
      try {
        await this.ingest.handle(topic, payload);
        return;
      } catch (err) {
        if (this.stopping) throw err;
        this.options.logger.error({ topic, err: (err as Error).message, retryInMs: delay }, 'ingest failed to store a message; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    this.client = undefined;
    await client?.endAsync();
  }
}
