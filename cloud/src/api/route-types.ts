import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The fastify instance the route modules register on, typed by zod schemas. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** A site, gateway or device id in a path or query. */
export const idParam = z.string().min(1).max(64);
export const epochMs = z.number().meta({ description: 'epoch milliseconds' });
