import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy the tests control, to cut the network between two components:
 * - `refuse`: existing connections are reset and new ones refused (a crashed peer, a firewall reject);
 * - `blackhole`: connections stay open but nothing gets through (a cable pulled, a dead route): only
 *   keepalives can tell.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private mode: 'pass' | 'refuse' | 'blackhole' = 'pass';
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (this.mode === 'pass') to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  /** Cuts the link: `refuse` resets everything, `blackhole` silently drops every byte. */
  cut(mode: 'refuse' | 'blackhole' = 'refuse'): void {
    this.mode = mode;
    if (mode === 'refuse') for (const [a, b] of this.pairs) (a.destroy(), b.destroy());
  }

  /** Restores the link; blackholed connections are reset so that both ends reconnect cleanly. */
  heal(): void {
    const wasBlackhole = this.mode === 'blackhole';
    this.mode = 'pass';
    if (wasBlackhole) for (const [a, b] of this.pairs) (a.destroy(), b.destroy());
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.pairs) (a.destroy(), b.destroy());
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
