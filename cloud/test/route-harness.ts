import Fastify, { type FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { ApiError } from '../src/api/errors.js';
import type { Api } from '../src/api/route-types.js';
import type { Principal } from '../src/auth/roles.js';
import { migrate } from '../src/storage/migrations.js';
import { createPgliteClient, createPostgresClient, type SqlClient } from '../src/storage/sql-client.js';
import { createTestDatabase } from '../../test/support/real-services.js';

/** The databases the routes run on: embedded PGlite, and the machine's PostgreSQL. */
export const DATABASES = ['pglite', 'postgres'] as const;

/** A fresh, migrated database of that kind; close() drops it. */
export async function openTestDatabase(kind: (typeof DATABASES)[number]): Promise<{ db: SqlClient; close: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await createPgliteClient(undefined);
    await migrate(db);
    return { db, close: () => db.close() };
  }
  const database = await createTestDatabase('gh_routes');
  const db = createPostgresClient({ connectionString: database.url });
  await migrate(db);
  return {
    db,
    close: async () => {
      await db.close();
      await database.drop();
    },
  };
}

export const GUARD: Principal = { kind: 'session', username: 'guard.li', displayName: null, roles: ['guard'], sites: '*' };

/**
 * A small API with some route modules on it, as buildApi sets them up (zod validation and
 * serialisation, the error catalogue), the caller being `principal` as the access guard would set it.
 */
export async function routeHarness(register: (api: Api) => void, principal: Principal = GUARD): Promise<FastifyInstance> {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err, _request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const problems = err.validation.map((v) => `${err.validationContext ?? 'request'}${v.instancePath.replaceAll('/', '.')}: ${v.message}`);
      return reply.status(400).send({ code: 'GH_BAD_REQUEST', message: problems.join('; ') });
    }
    if (err instanceof ApiError) return reply.status(err.status).send({ code: err.code, message: err.message });
    return reply.status(500).send({ code: 'GH_INTERNAL', message: (err as Error).message });
  });
  app.addHook('preHandler', async (request) => {
    request.principal = principal;
  });
  register(app.withTypeProvider<ZodTypeProvider>());
  await app.ready();
  return app;
}
