import type { z } from 'zod';
import { commandResultSchema, commandSchema } from './command.js';
import { eventBatchSchema, eventEnvelopeSchema } from './event.js';
import { gatewayStateSchema } from './state.js';
import { telemetryBatchSchema, telemetryEnvelopeSchema } from './telemetry.js';

/** Largest payload accepted on any topic (an event with snapshots is the biggest legitimate one). */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

export type PayloadErrorCode = 'too_large' | 'not_json' | 'invalid';

export class PayloadError extends Error {
  constructor(
    readonly code: PayloadErrorCode,
    message: string,
    /** each problem as "path: message" */
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'PayloadError';
  }
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: PayloadError };

/** Renders a zod issue path the way a user would write it: readings[3].value */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], limit = 5): string[] {
  return issues.slice(0, limit).map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`);
}

function makeCodec<S extends z.ZodType>(schema: S, what: string) {
  return {
    schema,
    /** Serialises a payload after checking it, so a bug on the sending side fails where it happens. */
    encode(value: z.input<S>): Buffer {
      return Buffer.from(JSON.stringify(schema.parse(value)));
    },
    decode(payload: Buffer | string): DecodeResult<z.output<S>> {
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      if (size > MAX_PAYLOAD_BYTES) {
        return fail('too_large', `${what}: payload of ${size} bytes exceeds the limit of ${MAX_PAYLOAD_BYTES}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch (err) {
        return fail('not_json', `${what}: payload is not valid JSON (${(err as Error).message})`);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const problems = formatIssues(parsed.error.issues);
        const more = parsed.error.issues.length > problems.length ? ` (+${parsed.error.issues.length - problems.length} more)` : '';
        return fail('invalid', `${what}: ${problems.join('; ')}${more}`, problems);
      }
      return { ok: true, value: parsed.data };
    },
  };
}

function fail(code: PayloadErrorCode, message: string, problems: string[] = []): { ok: false; error: PayloadError } {
  return { ok: false, error: new PayloadError(code, message, problems) };
}

export const telemetryCodec = makeCodec(telemetryBatchSchema, 'telemetry batch');
export const telemetryEnvelopeCodec = makeCodec(telemetryEnvelopeSchema, 'telemetry batch');
export const eventBatchCodec = makeCodec(eventBatchSchema, 'event batch');
export const eventEnvelopeCodec = makeCodec(eventEnvelopeSchema, 'event batch');
export const gatewayStateCodec = makeCodec(gatewayStateSchema, 'gateway state');
export const commandCodec = makeCodec(commandSchema, 'command');
export const commandResultCodec = makeCodec(commandResultSchema, 'command result');
