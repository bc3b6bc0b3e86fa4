/**
 * The one way the console talks to /api/v1: same-origin cookie session, JSON both ways, the CSRF
 * header on state-changing requests, and the API's {code, message} errors turned into ApiError.
 */

export const API_BASE = '/api/v1';

/** Codes the console itself uses besides the API's GH_* catalogue. */
export type ClientErrorCode = 'GH_NETWORK' | 'GH_BAD_RESPONSE';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** the API's stable code (GH_…), or GH_NETWORK when the server could not be reached */
    readonly code: string,
    message: string,
    /** seconds, from the retry-after header (lock-outs) */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];
export type Query = Record<string, QueryValue>;

/** Builds `?a=1&b=x&b=y` leaving out empty values; arrays repeat the parameter. */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function apiUrl(path: string, query?: Query): string {
  return `${API_BASE}${path}${queryString(query)}`;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export class ApiClient {
  private csrfToken: string | null = null;
  private unauthorizedHandler: (() => void) | null = null;

  setCsrfToken(token: string | null): void {
    this.csrfToken = token;
  }

  /** Called when a request other than the login itself answers 401: the session is gone. */
  onUnauthorized(handler: (() => void) | null): void {
    this.unauthorizedHandler = handler;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal }).then((r) => r.body);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body }).then((r) => r.body);
  }

  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body }).then((r) => r.body);
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path, {}).then(() => undefined);
  }

  /** The full answer, for routes whose status means something (200 done / 202 still on its way). */
  async request<T>(method: Method, path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal }): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    let response: Response;
    try {
      response = await fetch(apiUrl(path, opts.query), {
        method,
        headers,
        credentials: 'same-origin',
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'GH_NETWORK', err instanceof Error ? err.message : String(err));
    }
    if (response.status === 204) return { status: 204, body: undefined as T };
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (response.ok) throw new ApiError(response.status, 'GH_BAD_RESPONSE', 'the server answered with something other than JSON');
      }
    }
    if (!response.ok) {
      const { code, message } = errorBody(parsed, response.status);
      const retry = Number(response.headers.get('retry-after'));
      const error = new ApiError(response.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : null);
      // a wrong password (login, password change) is not a lost session
      if (response.status === 401 && code !== 'GH_BAD_CREDENTIALS' && path !== '/auth/login' && path !== '/auth/me') this.unauthorizedHandler?.();
      throw error;
    }
    return { status: response.status, body: parsed as T };
  }
}

function errorBody(parsed: unknown, status: number): { code: string; message: string } {
  if (parsed && typeof parsed === 'object') {
    const o = parsed as Record<string, unknown>;
    if (typeof o.code === 'string') return { code: o.code, message: typeof o.message === 'string' ? o.message : o.code };
  }
  return { code: `HTTP_${status}`, message: `HTTP ${status}` };
}

export const api = new ApiClient();
