import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import type { Logger } from 'pino';
import { authenticate, publishRefusal, subscribeRefusal, type BrokerAccounts, type Principal } from './broker-accounts.js';

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks a free port. Not 1883 on a machine that already runs a broker. */
  port: number;
  logger: Logger;
  /** when given, only these accounts connect, each limited to its own topics */
  accounts?: BrokerAccounts;
  /** called for every refused connection, publish or subscription, with the reason */
  onRefused?: (what: 'connect' | 'publish' | 'subscribe', reason: string) => void;
  /** listen with TLS (mqtts://) using this certificate and key (PEM files) */
  tls?: { certFile: string; keyFile: string };
}

const principals = new WeakMap<Client, Principal>();

/** aedes policy hooks enforcing the gateway/cloud ACL (see broker-accounts.ts). */
function accessControl(options: EmbeddedBrokerOptions): Partial<AedesOptions> {
  const accounts = options.accounts;
  if (!accounts) return {};
  const refuse = (what: 'connect' | 'publish' | 'subscribe', client: Client | null, reason: string) => {
    options.logger.warn({ client: client?.id, what, reason }, 'broker refused');
    options.onRefused?.(what, reason);
  };
  return {
    authenticate: (client, username, password, done) => {
      const principal = authenticate(accounts, username, password?.toString('utf8'));
      if (!principal) {
        refuse('connect', client, `bad credentials for user ${username ?? '(none)'}`);
        const error = Object.assign(new Error('bad user name or password'), { returnCode: 4 as const });
        done(error, false);
        return;
      }
      principals.set(client, principal);
      done(null, true);
    },
    authorizePublish: (client, packet, done) => {
      // The broker's own messages ($SYS) carry no client.
      if (!client) return done(null);
      const principal = principals.get(client);
      const reason = principal ? publishRefusal(principal, packet.topic) : 'not authenticated';
      if (reason) {
        refuse('publish', client, reason);
        return done(new Error(reason));
      }
      done(null);
    },
    authorizeSubscribe: (client, subscription, done) => {
      const principal = principals.get(client);
      const reason = principal ? subscribeRefusal(principal, subscription.topic) : 'not authenticated';
      if (reason) {
        refuse('subscribe', client, reason);
        return done(null, null);
      }
      done(null, subscription);
    },
  };
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
  const broker = await Aedes.createBroker({ maxClientsIdLength: 128, drainTimeout: 30_000, ...accessControl(options) });
  broker.on('clientError', (client, err) => options.logger.debug({ client: client?.id, err: err.message }, 'broker client error'));
  const server: Server = options.tls
    ? createTlsServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, broker.handle)
    : createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ host: options.host, port }, 'embedded MQTT broker listening');
  return {
    host: options.host,
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${options.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
