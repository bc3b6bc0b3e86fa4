import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type DigestGuardAlgorithm = 'MD5' | 'SHA-256';

export interface DigestGuardOptions {
  realm: string;
  /** user name → password */
  users: Record<string, string>;
  /** how long a nonce stays valid; older ones are answered with stale=true (default 5 min) */
  nonceLifetimeMs?: number;
  /** offered in this order; devices in the field offer MD5 only (the default) */
  algorithms?: DigestGuardAlgorithm[];
  /** defaults to a random key per guard, so nonces of one simulator run are not accepted by the next */
  secret?: Buffer;
}

export type DigestCheck =
  | { ok: true; user: string }
  | {
      ok: false;
      /** the WWW-Authenticate value to send with the 401 */
      header: string;
      /** why the request was refused, for the simulator's log */
      reason: 'missing' | 'malformed' | 'unknown_user' | 'bad_response' | 'stale_nonce' | 'replayed_nc' | 'bad_nonce';
    };

export interface DigestGuard {
  check(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>): DigestCheck;
  /** the value a 401 should carry in WWW-Authenticate with a fresh nonce */
  challenge(stale?: boolean): string;
}

/** Nonce counts remembered per nonce; past this the client is asked to take a new nonce. */
const MAX_COUNTS_PER_NONCE = 4096;

function parseDigestParams(value: string): Record<string, string> | undefined {
  const match = /^Digest\s+(.*)$/is.exec(value.trim());
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const rest = match[1]!;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (m = re.exec(rest)) !== null) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
    while (rest[re.lastIndex] === ' ') re.lastIndex++;
  }
  return params;
}

/**
 * The server side of HTTP Digest as access panels and cameras do it (qop=auth). Nonces carry their
 * issue time and an HMAC of it, so expiry is checked without remembering issued nonces; only the nonce
 * counts seen are remembered, to refuse a replayed request.
 */
export function createDigestGuard(options: DigestGuardOptions): DigestGuard {
  const secret = options.secret ?? randomBytes(32);
  const lifetimeMs = options.nonceLifetimeMs ?? 5 * 60_000;
  const algorithms = options.algorithms ?? ['MD5'];
  const opaque = createHash('md5').update(options.realm).digest('hex');
  const usedCounts = new Map<string, { issuedAt: number; counts: Set<number> }>();

  const sign = (issuedAt: string) => createHmac('sha256', secret).update(issuedAt).digest('hex').slice(0, 32);
  const newNonce = () => {
    const issuedAt = Date.now().toString(16);
    return Buffer.from(`${issuedAt}:${sign(issuedAt)}`).toString('base64');
  };
  const challenge = (stale = false) =>
    algorithms
      .map((a) => `Digest realm="${options.realm}", qop="auth", nonce="${newNonce()}", opaque="${opaque}", algorithm=${a}${stale ? ', stale=TRUE' : ''}`)
      .join(', ');
  /** the nonce's issue time when this guard issued it, else undefined */
  const nonceIssuedAt = (nonce: string): number | undefined => {
    const [issuedAt, mac] = Buffer.from(nonce, 'base64').toString('utf8').split(':');
    if (!issuedAt || !mac || !/^[0-9a-f]{1,12}$/.test(issuedAt) || mac.length !== 32) return undefined;
    if (!timingSafeEqual(Buffer.from(mac), Buffer.from(sign(issuedAt)))) return undefined;
    return parseInt(issuedAt, 16);
  };
  const forgetExpired = (now: number) => {
    for (const [nonce, entry] of usedCounts) if (now - entry.issuedAt > lifetimeMs) usedCounts.delete(nonce);
  };
  const refuse = (reason: Extract<DigestCheck, { ok: false }>['reason'], stale = false): DigestCheck => ({ ok: false, header: challenge(stale), reason });

  return {
    challenge,
    check(req) {
      const header = req.headers.authorization;
      if (!header) return refuse('missing');
      const p = parseDigestParams(header);
      if (!p || !p.username || !p.nonce || !p.uri || !p.response || !p.realm) return refuse('malformed');
      const algorithm = (p.algorithm ?? 'MD5').toUpperCase() as DigestGuardAlgorithm;
      if (!algorithms.includes(algorithm) || p.realm !== options.realm || p.qop !== 'auth' || !p.nc || !p.cnonce || !/^[0-9a-f]{8}$/i.test(p.nc)) return refuse('malformed');
      const password = options.users[p.username];
      if (password === undefined) return refuse('unknown_user');
      const issuedAt = nonceIssuedAt(p.nonce);
      if (issuedAt === undefined) return refuse('bad_nonce');
      const hash = (s: string) => createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5').update(s).digest('hex');
      const ha1 = hash(`${p.username}:${options.realm}:${password}`);
      const ha2 = hash(`${(req.method ?? 'GET').toUpperCase()}:${p.uri}`);
      const expected = hash(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
      if (expected.length !== p.response.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(p.response.toLowerCase()))) return refuse('bad_response');
      // The request must be for the URL it was signed for, or the signature could be reused elsewhere.
      if (p.uri !== req.url) return refuse('malformed');
      const now = Date.now();
      // Checked after the password, so that stale=true only ever tells a client with the right password to retry.
      if (now - issuedAt > lifetimeMs) return refuse('stale_nonce', true);
      forgetExpired(now);
      const nc = parseInt(p.nc, 16);
      let entry = usedCounts.get(p.nonce);
      if (!entry) usedCounts.set(p.nonce, (entry = { issuedAt, counts: new Set() }));
      // Counts may arrive out of order (requests in parallel on several connections): refuse reuse, not a lower count.
      if (entry.counts.has(nc)) return refuse('replayed_nc');
      if (entry.counts.size >= MAX_COUNTS_PER_NONCE) return refuse('stale_nonce', true);
      entry.counts.add(nc);
      return { ok: true, user: p.username };
    },
  };
}
