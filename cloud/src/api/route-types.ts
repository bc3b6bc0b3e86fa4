import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The fastify instance the route modules register on, typed by zod schemas. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** A site, gateway or device id in a path or query. */
export const idParam = z.string().min(1).max(64);
export const epochMs = z.number().meta({ description: 'epoch milliseconds' });

/** `a,b` or `a&…&b`: the values of a list parameter. */
export function listParam<T extends string>(allowed: readonly T[], what: string) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((value, ctx) => {
      const items = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
      const bad = items.find((v) => !(allowed as readonly string[]).includes(v));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${what}: ${allowed.join(', ')} (comma-separated); got "${bad}"` });
        return z.NEVER;
      }
      return items as T[];
    });
}
