import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDigestGuard, type DigestGuardOptions } from '@gatehouse/firmware-sim';
import { BASIC_REFUSED_MESSAGE, DigestClient, parseAuthenticateHeader } from '../src/http/digest-auth.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server guarded by the simulators' digest guard, recording every request it gets. */
async function guarded(options: Partial<DigestGuardOptions> = {}) {
  const guard = createDigestGuard({ realm: 'DS-K2600', users: { admin: 'Passw0rd!' }, ...options });
  const seen: Seen[] = [];
  const refusals: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      const check = guard.check(req);
      if (!check.ok) {
        refusals.push(check.reason);
        res.writeHead(401, { 'www-authenticate': check.header }).end('refused');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${check.user} ${req.method} ${body}`);
    });
  });
  const port = await listen(server);
  return { guard, seen, refusals, base: `http://127.0.0.1:${port}` };
}

async function listen(s: Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}

describe('WWW-Authenticate parsing', () => {
  it('splits several challenges and keeps commas inside quoted values', () => {
    const parsed = parseAuthenticateHeader('Digest realm="a, b", qop="auth,auth-int", nonce="n1", algorithm=SHA-256, Basic realm="x"');
    expect(parsed).toEqual([
      { scheme: 'digest', params: { realm: 'a, b', qop: 'auth,auth-int', nonce: 'n1', algorithm: 'SHA-256' } },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });

  it('unescapes quoted pairs and survives junk', () => {
    expect(parseAuthenticateHeader('Digest realm="a\\"b"')).toEqual([{ scheme: 'digest', params: { realm: 'a"b' } }]);
    expect(() => parseAuthenticateHeader('=,,"\\')).not.toThrow();
    expect(parseAuthenticateHeader('')).toEqual([]);
  });
});

describe('DigestClient against the simulators digest guard', () => {
  it('answers the first challenge, then authenticates up front with increasing nonce counts', async () => {
    const { seen, base } = await guarded();
    const client = new DigestClient({ username: 'admin', password: 'Passw0rd!' });
    const first = await client.fetch(`${base}/ISAPI/System/deviceInfo`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('hello admin GET ');
    const second = await client.fetch(`${base}/ISAPI/AccessControl/AcsEvent?format=json`, { method: 'POST', body: '{"a":1}' });
    expect(await second.text()).toBe('hello admin POST {"a":1}');
    const third = await client.fetch(`${base}/x`, { method: 'PUT', body: new TextEncoder().encode('<a/>') });
    expect(third.status).toBe(200);
    // One 401 round trip in all: the first request; the next two carry their Authorization at once.
    expect(seen.map((s) => s.authorization === undefined)).toEqual([true, false, false, false]);
    expect(seen.slice(1).map((s) => /nc=([0-9a-f]{8})/.exec(s.authorization!)![1])).toEqual(['00000001', '00000002', '00000003']);
    expect(seen[1]!.authorization).toMatch(/algorithm=MD5/);
    expect(seen[1]!.authorization).toMatch(/qop=auth/);
    expect(seen[1]!.authorization).toMatch(/opaque="[0-9a-f]{32}"/);
    expect(seen[2]!.authorization).toContain('uri="/ISAPI/AccessControl/AcsEvent?format=json"');
  });

  it('uses SHA-256 when the server offers it beside MD5', async () => {
    const { seen, base } = await guarded({ algorithms: ['MD5', 'SHA-256'] });
    const client = new DigestClient({ username: 'admin', password: 'Passw0rd!' });
    expect((await client.fetch(`${base}/a`)).status).toBe(200);
    expect(seen[1]!.authorization).toMatch(/algorithm=SHA-256/);
    expect(/response="([0-9a-f]+)"/.exec(seen[1]!.authorization!)![1]).toHaveLength(64);
  });

  it('resolves with the second 401 when the password is wrong, after exactly one answer', async () => {
    const { seen, refusals, base } = await guarded();
    const client = new DigestClient({ username: 'admin', password: 'wrong' });
    const res = await client.fetch(`${base}/a`);
    expect(res.status).toBe(401);
    expect(seen).toHaveLength(2);
    expect(refusals).toEqual(['missing', 'bad_response']);
  });

  it('refuses an unknown user', async () => {
    const { refusals, base } = await guarded();
    const res = await new DigestClient({ username: 'operator', password: 'Passw0rd!' }).fetch(`${base}/a`);
    expect(res.status).toBe(401);
    expect(refusals).toEqual(['missing', 'unknown_user']);
  });

  it('retries with the new nonce when the server says stale=true', async () => {
    const { seen, refusals, base } = await guarded({ nonceLifetimeMs: 150 });
    const client = new DigestClient({ username: 'admin', password: 'Passw0rd!' });
    expect((await client.fetch(`${base}/a`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 250)); // the nonce's lifetime has to pass: nothing to wait on but the clock
    expect((await client.fetch(`${base}/b`)).status).toBe(200);
    expect(refusals).toEqual(['missing', 'stale_nonce']);
    const nonceOf = (s: Seen) => /nonce="([^"]+)"/.exec(s.authorization!)![1];
    expect(nonceOf(seen[3]!)).not.toBe(nonceOf(seen[2]!));
    expect(seen[3]!.authorization).toMatch(/nc=00000001/);
  });

  it('the guard refuses a replayed request and a request moved to another URL', async () => {
    const { seen, base } = await guarded();
    const client = new DigestClient({ username: 'admin', password: 'Passw0rd!' });
    expect((await client.fetch(`${base}/door/1`)).status).toBe(200);
    const captured = seen[1]!.authorization!;
    const replay = await fetch(`${base}/door/1`, { headers: { authorization: captured } });
    expect(replay.status).toBe(401);
    const moved = await fetch(`${base}/door/2`, { headers: { authorization: captured.replace('nc=00000001', 'nc=00000009') } });
    expect(moved.status).toBe(401);
  });

  it('the guard refuses a nonce it did not issue', async () => {
    const a = await guarded();
    const client = new DigestClient({ username: 'admin', password: 'Passw0rd!' });
    expect((await client.fetch(`${a.base}/a`)).status).toBe(200);
    const other = createDigestGuard({ realm: 'DS-K2600', users: { admin: 'Passw0rd!' } });
    const req = { method: 'GET', url: '/a', headers: { authorization: a.seen[1]!.authorization! } } as unknown as IncomingMessage;
    expect(other.check(req)).toMatchObject({ ok: false, reason: 'bad_nonce' });
  });

  /** A server that offers only Basic, recording the Authorization of every request. */
  async function basicOnly() {
    const seen: (string | undefined)[] = [];
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization === `Basic ${Buffer.from('admin:pw').toString('base64')}`) res.writeHead(200).end('ok');
      else res.writeHead(401, { 'www-authenticate': 'Basic realm="cam"' }).end('refused');
    });
    return { seen, port: await listen(server) };
  }

  it('does not send the password to a server that offers only Basic over plain HTTP, and says why', async () => {
    const { seen, port } = await basicOnly();
    const client = new DigestClient({ username: 'admin', password: 'pw' });
    const res = await client.fetch(`http://127.0.0.1:${port}/snap.jpg`);
    expect(res.status).toBe(401);
    expect(client.basicRefused(res)).toBe(true);
    expect(await res.text()).toBe('refused');
    const text = await client.fetchText(`http://127.0.0.1:${port}/snap.jpg`);
    expect(text).toMatchObject({ status: 401, basicRefused: true, text: 'refused' });
    expect(seen).toEqual([undefined, undefined]);
    expect(BASIC_REFUSED_MESSAGE).toBe('the device offers only Basic authentication over plain HTTP; refused');
  });

  it('a wrong password is not taken for a Basic refusal', async () => {
    const { base } = await guarded();
    const client = new DigestClient({ username: 'admin', password: 'wrong' });
    const res = await client.fetch(`${base}/a`);
    expect(res.status).toBe(401);
    expect(client.basicRefused(res)).toBe(false);
  });

  it('uses Basic with a server that offers only Basic when allowBasic says so', async () => {
    const { seen, port } = await basicOnly();
    const client = new DigestClient({ username: 'admin', password: 'pw', allowBasic: true });
    expect((await client.fetch(`http://127.0.0.1:${port}/snap.jpg`)).status).toBe(200);
    expect((await client.fetch(`http://127.0.0.1:${port}/snap.jpg`)).status).toBe(200);
    expect(seen).toEqual([undefined, 'Basic YWRtaW46cHc=', 'Basic YWRtaW46cHc=']);
  });

  it('times out waiting for headers, but not while reading a long body', async () => {
    server = createServer((req, res) => {
      if (req.url === '/silent') return; // never answers
      res.writeHead(200);
      res.write('a');
      setTimeout(() => res.end('b'), 300);
    });
    const port = await listen(server);
    const client = new DigestClient({ username: 'admin', password: 'pw', timeoutMs: 150 });
    await expect(client.fetch(`http://127.0.0.1:${port}/silent`)).rejects.toThrow();
    const slow = await client.fetch(`http://127.0.0.1:${port}/slow`);
    expect(await slow.text()).toBe('ab');
    server.closeAllConnections();
  });

  it('fetchText times the body as well: headers then silence fails within the timeout', async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('abc'); // and nothing more
    });
    const port = await listen(server);
    const client = new DigestClient({ username: 'admin', password: 'pw', timeoutMs: 200 });
    const started = Date.now();
    await expect(client.fetchText(`http://127.0.0.1:${port}/stalls`)).rejects.toThrow(/no complete answer from http:\/\/127\.0\.0\.1:\d+ within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    server.closeAllConnections();
  });

  it('fetchText refuses an answer larger than maxBodyBytes', async () => {
    server = createServer((req, res) => res.writeHead(200).end('x'.repeat(5000)));
    const port = await listen(server);
    const client = new DigestClient({ username: 'admin', password: 'pw', maxBodyBytes: 1000 });
    await expect(client.fetchText(`http://127.0.0.1:${port}/big`)).rejects.toThrow(/exceeds 1000 bytes/);
  });

  it("holds one listener on the caller's signal per request in progress, none once it is over, and the signal still aborts a body", async () => {
    server = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200);
        res.write('a'); // a stream that goes on
        return;
      }
      res.writeHead(200).end('ok');
    });
    const port = await listen(server);
    const client = new DigestClient({ username: 'admin', password: 'pw' });
    const lifetime = new AbortController();
    const listeners = () => getEventListeners(lifetime.signal, 'abort').length;
    for (let i = 0; i < 20; i++) {
      expect((await client.fetchText(`http://127.0.0.1:${port}/x`, { signal: lifetime.signal })).text).toBe('ok');
      expect(await (await client.fetch(`http://127.0.0.1:${port}/y`, { signal: lifetime.signal })).text()).toBe('ok');
    }
    expect(listeners()).toBe(0);
    const stream = await client.fetch(`http://127.0.0.1:${port}/stream`, { signal: lifetime.signal });
    expect(listeners()).toBe(1);
    const reader = stream.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('a');
    const pending = reader.read();
    lifetime.abort();
    await expect(pending).rejects.toThrow();
    expect(listeners()).toBe(0);
    server.closeAllConnections();
  });

  it('refuses a URL carrying credentials without repeating them', async () => {
    const client = new DigestClient({ username: 'admin', password: 'pw' });
    const err = await client.fetch('http://admin:S3cret@127.0.0.1:9/x').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/carrying a user name or password is refused/);
    expect(err?.message).not.toContain('S3cret');
    await expect(client.fetchText('http://admin:S3cret@127.0.0.1:9/x')).rejects.toThrow(/refused \(http:\/\/127\.0\.0\.1:9\)/);
  });
});
