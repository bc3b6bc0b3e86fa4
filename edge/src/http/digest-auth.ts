import { createHash, randomBytes } from 'node:crypto';
import { BodyTooLargeError, readCappedBody } from './capped-body.js';

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
  /** fetch(): how long to wait for the response headers; fetchText(): for the whole answer, body included */
  timeoutMs?: number;
  /**
   * Answer a server that offers only Basic over plain HTTP. Off by default: Basic sends the password
   * in the clear, and anyone able to rewrite one 401 on the way could ask for it. Over https Basic is
   * always answered.
   */
  allowBasic?: boolean;
  /** fetchText(): the largest body read (default 1 MiB); a longer answer is an error */
  maxBodyBytes?: number;
}

export interface DigestFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** A whole answer, read by fetchText() within the client's deadline. */
export interface DigestTextResponse {
  status: number;
  headers: Headers;
  text: string;
  /** a 401 the client did not answer because the server offers only Basic over plain HTTP */
  basicRefused: boolean;
}

/** What to tell an operator when basicRefused is set. */
export const BASIC_REFUSED_MESSAGE = 'the device offers only Basic authentication over plain HTTP; refused';

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

/** The per-request signal: aborted by the deadline or by the caller's signal, whichever comes first. */
interface Deadline {
  signal: AbortSignal;
  /** stops the clock, leaving the link to the caller's signal (a stream's body is the caller's to time) */
  stopClock(): void;
  /** stops the clock and drops the listener on the caller's signal */
  release(): void;
}

/**
 * HTTP Digest (RFC 7616, and RFC 2617's MD5) over the global fetch, for devices that speak nothing
 * else: ISAPI panels, camera snapshot URLs. It keeps the last challenge per origin and authenticates
 * following requests up front with the next nonce count, so a request on the alarm path does not pay a
 * 401 round trip first. A 401 is answered once; a second 401 is returned to the caller, whose
 * credentials were refused. A server that offers only Basic gets Basic over https, or when allowBasic
 * says so; otherwise its 401 is returned unanswered (see basicRefused()).
 *
 * fetch() times only the wait for the headers and hands the body over, for long-lived streams;
 * fetchText() reads the body within the same deadline, for ordinary requests, so a device that sends
 * headers and then stalls cannot hang its caller.
 */
export class DigestClient {
  private readonly byOrigin = new Map<string, OriginAuth>();
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  /** 401s returned unanswered because the server wanted Basic over plain HTTP */
  private readonly refusedBasic = new WeakSet<Response>();

  constructor(private readonly opts: DigestClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  }

  /**
   * The response once its headers are in; its body is the caller's to read (and to time), and the
   * caller's signal still aborts it.
   */
  async fetch(url: string, init: DigestFetchInit = {}): Promise<Response> {
    const target = this.target(url);
    const deadline = this.deadline(target, init.signal, 'no response');
    let res: Response;
    try {
      res = await this.exchange(target, init, deadline.signal);
    } catch (err) {
      deadline.release();
      throw err;
    }
    deadline.stopClock();
    return this.releasedWithBody(res, deadline.release);
  }

  /** The whole answer, headers and body, within the client's timeout; the caller's signal aborts it too. */
  async fetchText(url: string, init: DigestFetchInit = {}): Promise<DigestTextResponse> {
    const target = this.target(url);
    const deadline = this.deadline(target, init.signal, 'no complete answer');
    try {
      const res = await this.exchange(target, init, deadline.signal);
      const text = await this.readText(res, target);
      return { status: res.status, headers: res.headers, text, basicRefused: this.refusedBasic.has(res) };
    } finally {
      deadline.release();
    }
  }

  /** True for a 401 this client left unanswered because the server offers only Basic over plain HTTP. */
  basicRefused(res: Response): boolean {
    return this.refusedBasic.has(res);
  }

  /** Forgets what the servers asked, e.g. after the credentials changed. */
  reset(): void {
    this.byOrigin.clear();
  }

  private target(url: string): URL {
    const target = new URL(url);
    // fetch refuses such URLs with a message quoting them whole, password included.
    if (target.username !== '' || target.password !== '') throw new TypeError(`a URL carrying a user name or password is refused (${target.origin}): the credentials belong in the client's options`);
    return target;
  }

  private deadline(target: URL, parent: AbortSignal | undefined, what: string): Deadline {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`${what} from ${target.origin} within ${this.timeoutMs} ms`)), this.timeoutMs);
    // A listener of our own, removed when the request is over: combining a long-lived caller's signal
    // with AbortSignal.any on every request can keep the combined signals alive (nodejs/node#55351).
    const onAbort = () => controller.abort(parent!.reason);
    if (parent?.aborted) onAbort();
    else parent?.addEventListener('abort', onAbort, { once: true });
    return {
      signal: controller.signal,
      stopClock: () => clearTimeout(timer),
      release: () => {
        clearTimeout(timer);
        parent?.removeEventListener('abort', onAbort);
      },
    };
  }

  /** The response with a body that calls `done` once it ends, fails or is cancelled. */
  private releasedWithBody(res: Response, done: () => void): Response {
    const body = res.body;
    if (!body) {
      done();
      return res;
    }
    const reader = body.getReader();
    const wrapped = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done: ended, value } = await reader.read();
          if (ended) {
            done();
            controller.close();
          } else controller.enqueue(value);
        } catch (err) {
          done();
          controller.error(err);
        }
      },
      cancel(reason) {
        done();
        return reader.cancel(reason);
      },
    });
    const out = new Response(wrapped, { status: res.status, statusText: res.statusText, headers: res.headers });
    if (this.refusedBasic.has(res)) this.refusedBasic.add(out);
    return out;
  }

  private async readText(res: Response, target: URL): Promise<string> {
    try {
      return (await readCappedBody(res.body, this.maxBodyBytes)).toString('utf8');
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw new Error(`the answer from ${target.origin} exceeds ${this.maxBodyBytes} bytes`);
      throw err;
    }
  }

  private async exchange(target: URL, init: DigestFetchInit, signal: AbortSignal): Promise<Response> {
    const method = (init.method ?? 'GET').toUpperCase();
    const known = this.byOrigin.get(target.origin);
    const first = await this.send(target, method, init, known ? this.authorization(known, method, target) : undefined, signal);
    if (first.status !== 401) return first;
    const header = first.headers.get('www-authenticate');
    const challenges = header ? parseAuthenticateHeader(header) : [];
    const auth = this.choose(challenges, target);
    if (!auth) {
      if (this.basicOnly(challenges)) {
        // A known origin that now asks for Basic (a rewritten 401?) loses what it had.
        this.byOrigin.delete(target.origin);
        this.refusedBasic.add(first);
      }
      return first;
    }
    await first.body?.cancel().catch(() => undefined);
    this.byOrigin.set(target.origin, auth);
    return this.send(target, method, init, this.authorization(auth, method, target), signal);
  }

  private send(target: URL, method: string, init: DigestFetchInit, authorization: string | undefined, signal: AbortSignal): Promise<Response> {
    return fetch(target, {
      method,
      headers: { ...init.headers, ...(authorization ? { authorization } : {}) },
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal,
    });
  }

  private basicOnly(challenges: AuthChallenge[]): boolean {
    return challenges.some((c) => c.scheme === 'basic') && !challenges.some((c) => c.scheme === 'digest');
  }

  private choose(challenges: AuthChallenge[], target: URL): OriginAuth | undefined {
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
    // Basic only when the server asks for nothing better, and only where the password cannot be read
    // on the way (https) or where the configuration accepts that it can.
    if (challenges.some((c) => c.scheme === 'basic') && (target.protocol === 'https:' || this.opts.allowBasic === true)) return { scheme: 'basic' };
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
