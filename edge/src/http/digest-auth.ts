import { createHash, randomBytes } from 'node:crypto';

/** Thrown when a server's challenge cannot be answered (an algorithm or qop this client does not speak). */
export class DigestAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestAuthError';
  }
}

export interface DigestClientOptions {
  username: string;
  password: string;
  /** how long to wait for the response headers (the body of a long-lived stream is not timed) */
  timeoutMs?: number;
}

export interface DigestFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** One challenge from a WWW-Authenticate header: the scheme and its parameters (names lower-cased). */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

type Algorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

interface DigestState {
  scheme: 'digest';
  realm: string;
  nonce: string;
  opaque: string | undefined;
  algorithm: Algorithm;
  /** undefined: the legacy RFC 2069 form without qop */
  qop: 'auth' | undefined;
  nc: number;
  /** fixed per nonce for the -sess algorithms, whose session key depends on it */
  cnonce: string;
}

type OriginAuth = DigestState | { scheme: 'basic' };

const ALGORITHMS: Record<string, Algorithm> = { 'MD5': 'MD5', 'MD5-SESS': 'MD5-sess', 'SHA-256': 'SHA-256', 'SHA-256-SESS': 'SHA-256-sess' };

/**
 * Splits a WWW-Authenticate value into its challenges. Several challenges may share one header
 * (comma-separated, and Headers.get() joins repeated headers the same way), and parameter values may
 * be quoted strings containing commas, so a split on ',' is not enough.
 */
export function parseAuthenticateHeader(value: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const n = value.length;
  const skipSpaceAndCommas = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t' || value[i] === ',')) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(value[i]!)) i++;
    return value.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < n) {
    skipSpaceAndCommas();
    if (i >= n) break;
    const token = readToken();
    if (token === '') {
      i++; // a stray character: skip it rather than loop forever
      continue;
    }
    let j = i;
    while (j < n && (value[j] === ' ' || value[j] === '\t')) j++;
    if (value[j] === '=' && current) {
      i = j + 1;
      while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
      let paramValue = '';
      if (value[i] === '"') {
        i++;
        while (i < n && value[i] !== '"') {
          if (value[i] === '\\' && i + 1 < n) i++;
          paramValue += value[i];
          i++;
        }
        i++; // closing quote
      } else {
        const start = i;
        while (i < n && value[i] !== ',' && value[i] !== ' ' && value[i] !== '\t') i++;
        paramValue = value.slice(start, i);
      }
      current.params[token.toLowerCase()] = paramValue;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
      // token68 form (e.g. "Negotiate abc=="): not a parameter list; skip it.
      i = j;
    }
  }
  return challenges;
}

function hashHex(algorithm: Algorithm, text: string): string {
  return createHash(algorithm.startsWith('SHA-256') ? 'sha256' : 'md5').update(text, 'utf8').digest('hex');
}

const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/**
 * HTTP Digest (RFC 7616, and RFC 2617's MD5) over the global fetch, for devices that speak nothing
 * else: ISAPI panels, camera snapshot URLs. It keeps the last challenge per origin and authenticates
 * following requests up front with the next nonce count, so a request on the alarm path does not pay a
 * 401 round trip first. A 401 is answered once; a second 401 is returned to the caller, whose
 * credentials were refused. A server that offers only Basic gets Basic.
 */
export class DigestClient {
  private readonly byOrigin = new Map<string, OriginAuth>();
  private readonly timeoutMs: number;

  constructor(private readonly opts: DigestClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async fetch(url: string, init: DigestFetchInit = {}): Promise<Response> {
    const target = new URL(url);
    const method = (init.method ?? 'GET').toUpperCase();
    const known = this.byOrigin.get(target.origin);
    const first = await this.send(target, method, init, known ? this.authorization(known, method, target) : undefined);
    if (first.status !== 401) return first;
    const header = first.headers.get('www-authenticate');
    const auth = header ? this.choose(parseAuthenticateHeader(header)) : undefined;
    if (!auth) return first;
    await first.body?.cancel().catch(() => undefined);
    this.byOrigin.set(target.origin, auth);
    return this.send(target, method, init, this.authorization(auth, method, target));
  }

  /** Forgets what the servers asked, e.g. after the credentials changed. */
  reset(): void {
    this.byOrigin.clear();
  }

  private async send(target: URL, method: string, init: DigestFetchInit, authorization: string | undefined): Promise<Response> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no response from ${target.origin} within ${this.timeoutMs} ms`)), this.timeoutMs);
    // AbortSignal.any holds no listener on the caller's signal, which may outlive thousands of requests.
    const signal = init.signal ? AbortSignal.any([timeout.signal, init.signal]) : timeout.signal;
    try {
      return await fetch(target, {
        method,
        headers: { ...init.headers, ...(authorization ? { authorization } : {}) },
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal,
      });
    } finally {
      // Only the wait for the headers is timed: the body of a long-lived stream belongs to the caller.
      clearTimeout(timer);
    }
  }

  private choose(challenges: AuthChallenge[]): OriginAuth | undefined {
    const digests = challenges.filter((c) => c.scheme === 'digest' && c.params.nonce !== undefined && c.params.realm !== undefined);
    const usable = digests
      .map((c) => ({ c, algorithm: ALGORITHMS[(c.params.algorithm ?? 'MD5').toUpperCase()] }))
      .filter((x): x is { c: AuthChallenge; algorithm: Algorithm } => x.algorithm !== undefined);
    // Prefer SHA-256 when the server offers both (RFC 7616 §3.7: strongest first).
    usable.sort((a, b) => Number(b.algorithm.startsWith('SHA')) - Number(a.algorithm.startsWith('SHA')));
    const best = usable[0];
    if (best) {
      const qops = (best.c.params.qop ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean);
      if (qops.length > 0 && !qops.includes('auth')) throw new DigestAuthError(`the server asks for qop=${best.c.params.qop}, only qop=auth is supported`);
      return {
        scheme: 'digest',
        realm: best.c.params.realm!,
        nonce: best.c.params.nonce!,
        opaque: best.c.params.opaque,
        algorithm: best.algorithm,
        qop: qops.length > 0 ? 'auth' : undefined,
        nc: 0,
        cnonce: randomBytes(8).toString('hex'),
      };
    }
    if (digests.length > 0) throw new DigestAuthError(`the server offers Digest with an unsupported algorithm (${digests.map((d) => d.params.algorithm).join(', ')})`);
    // Basic only when the server asks for nothing better: it sends the password in the clear.
    if (challenges.some((c) => c.scheme === 'basic')) return { scheme: 'basic' };
    return undefined;
  }

  private authorization(auth: OriginAuth, method: string, target: URL): string {
    const { username, password } = this.opts;
    if (auth.scheme === 'basic') return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    auth.nc += 1;
    const nc = auth.nc.toString(16).padStart(8, '0');
    const uri = target.pathname + target.search;
    let ha1 = hashHex(auth.algorithm, `${username}:${auth.realm}:${password}`);
    if (auth.algorithm.endsWith('-sess')) ha1 = hashHex(auth.algorithm, `${ha1}:${auth.nonce}:${auth.cnonce}`);
    const ha2 = hashHex(auth.algorithm, `${method}:${uri}`);
    const response = auth.qop
      ? hashHex(auth.algorithm, `${ha1}:${auth.nonce}:${nc}:${auth.cnonce}:${auth.qop}:${ha2}`)
      : hashHex(auth.algorithm, `${ha1}:${auth.nonce}:${ha2}`);
    const parts = [
      `username=${quote(username)}`,
      `realm=${quote(auth.realm)}`,
      `nonce=${quote(auth.nonce)}`,
      `uri=${quote(uri)}`,
      `algorithm=${auth.algorithm}`,
      `response=${quote(response)}`,
    ];
    if (auth.opaque !== undefined) parts.push(`opaque=${quote(auth.opaque)}`);
    if (auth.qop) parts.push(`qop=${auth.qop}`, `nc=${nc}`, `cnonce=${quote(auth.cnonce)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
