import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a webhook receiver got. */
export interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP endpoint on 127.0.0.1 that records what it is sent and answers as `status` says. */
export async function webhookReceiver(status: (path: string) => number): Promise<{ url: string; hits: Hit[]; server: Server }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status(req.url ?? '')).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

/** What a receiver does: recompute the signature over the raw body and compare in constant time. */
export function signatureValid(hit: Hit, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${hit.headers['x-gatehouse-timestamp']}.${hit.body}`).digest('hex')}`);
  const got = Buffer.from(String(hit.headers['x-gatehouse-signature']));
  return got.length === expected.length && timingSafeEqual(got, expected);
}
