/**
 * The API's error catalogue: every error a client can get has a stable code, an HTTP status and a
 * message that says what was wrong.
 */
export const API_ERRORS = {
  GH_BAD_REQUEST: { status: 400, message: 'invalid request' },
  GH_BAD_TIME_RANGE: { status: 400, message: '"from" must be before "to"' },
  GH_TOO_MANY_POINTS: { status: 400, message: 'the range holds too many buckets for this step' },
  GH_NOT_FOUND: { status: 404, message: 'not found' },
  GH_INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    detail?: string,
  ) {
    super(detail ?? API_ERRORS[code].message);
    this.status = API_ERRORS[code].status;
  }
}
