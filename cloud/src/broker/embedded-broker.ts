import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks a free port. Not 1883 on a machine that already runs a broker. */
  port: number;
  logger: Logger;
}

export interface EmbeddedBroker {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * An MQTT broker inside the process (aedes, in-memory persistence) for the site in a box and tests.
 * Production points gateways and cloud at an external broker instead.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker({ maxClientsIdLength: 128, drainTimeout: 30_000 });
  broker.on('clientError', (client, err) => options.logger.debug({ client: client?.id, err: err.message }, 'broker client error'));
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ host: options.host, port }, 'embedded MQTT broker listening');
  return {
    host: options.host,
    port,
    url: `mqtt://${options.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
