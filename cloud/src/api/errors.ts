/**
 * The API's error catalogue: every error a client can get has a stable code, an HTTP status and a
 * message that says what was wrong.
 */
export const API_ERRORS = {
  GH_BAD_REQUEST: { status: 400, message: 'invalid request' },
  GH_BAD_TIME_RANGE: { status: 400, message: '"from" must be before "to"' },
  GH_TOO_MANY_POINTS: { status: 400, message: 'the range holds too many buckets for this step' },
  GH_UNAUTHENTICATED: { status: 401, message: 'log in first, or send an API token (Authorization: Bearer …)' },
  GH_BAD_CREDENTIALS: { status: 401, message: 'wrong username or password' },
  GH_FORBIDDEN: { status: 403, message: 'your roles do not allow this' },
  GH_SITE_FORBIDDEN: { status: 403, message: 'this site is not granted to you' },
  GH_CSRF: { status: 403, message: 'missing or wrong x-csrf-token header' },
  GH_NOT_FOUND: { status: 404, message: 'not found' },
  GH_CONFLICT: { status: 409, message: 'conflicts with the current state' },
  GH_COMMAND_REFUSED: { status: 422, message: 'the gateway refused the command' },
  GH_BAD_TRANSITION: { status: 409, message: 'not allowed from the current state' },
  GH_LOCKED_OUT: { status: 429, message: 'too many failed logins: try again later' },
  GH_INTERNAL: { status: 500, message: 'internal error' },
  GH_GATEWAY_FAILED: { status: 502, message: 'the gateway could not do it' },
  GH_TIMEOUT: { status: 504, message: 'no answer from the gateway in time' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    detail?: string,
    /** more of the answer, beside code and message (a refused command's record) */
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail ?? API_ERRORS[code].message);
    this.status = API_ERRORS[code].status;
  }
}
