import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CommandService } from '../commands/command-service.js';
import type { CloudMetrics } from '../status/metrics.js';
import type { DeadLetterStore } from '../storage/dead-letters.js';
import type { EventStore } from '../storage/event-store.js';
import type { SiteRegistry } from '../storage/site-registry.js';
import type { SqlClient } from '../storage/sql-client.js';
import type { TimeSeriesStore } from '../storage/time-series-store.js';
import { ApiError } from './errors.js';
import { authenticate, installAccessGuard } from '../auth/access-guard.js';
import { registerAuthRoutes } from '../auth/auth-routes.js';
import type { AuthServices } from '../auth/auth-services.js';
import { registerAuditRoutes } from '../audit/audit-routes.js';
import type { LiveHub } from '../live/live-hub.js';
import { registerLiveRoutes } from '../live/live-routes.js';
import type { Api } from './route-types.js';
import { registerReadRoutes } from './read-routes.js';
import { registerCommandRoutes } from './command-routes.js';

export interface ApiDependencies {
  db: SqlClient;
  timeSeries: TimeSeriesStore;
  registry: SiteRegistry;
  events: EventStore;
  deadLetters: DeadLetterStore;
  commands: CommandService;
  metrics: CloudMetrics;
  logger: Logger;
  version: string;
  /** whether the ingest is connected to its broker, for /health */
  ingestConnected: () => boolean;
  auth: AuthServices;
  live: LiveHub;
  /** the routes of the cloud's domains (alarms, doors and cameras, events), each registering its own */
  domainRoutes?: readonly ((api: Api) => void)[];
  /** the web console's built files; default: console/dist of this repository */
  consoleDir?: string;
  /** trust X-Forwarded-* from these reverse proxies (addresses or CIDR), or this many hops */
  trustProxy?: false | string | number;
}

/** Where `npm run build` puts the console, seen from cloud/dist/api/. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

export const errorBodySchema = z.object({ code: z.string(), message: z.string() });

/** Addresses as given, or a count of hops: believe that many proxies nearest to us. */
function trustProxyOption(trust: false | string | number | undefined): boolean | string | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust ?? false;
}

/** Builds the HTTP API without listening, so tests can call `app.inject()`. */
export async function buildApi(deps: ApiDependencies): Promise<FastifyInstance> {
  // pino's Logger and fastify's logger interface differ only in generics.
  const loggerInstance = deps.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger;
  // Per-request lines would drown the ingest's logs; errors are still logged by the error handler.
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }), trustProxy: trustProxyOption(deps.trustProxy) });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifyCookie);
  // Before any route: every route is checked against the role × route matrix as it is added.
  installAccessGuard(app, { sessions: deps.auth.sessions, tokens: deps.auth.tokens, metricsFromLoopback: deps.auth.settings.metricsFromLoopback });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse cloud API',
        version: deps.version,
        description: 'Sites, gateways, devices and their readings and events; alarms, door commands, accounts. Log in with POST /api/v1/auth/login (session cookie + x-csrf-token on changes) or send an API token as Authorization: Bearer gh_….',
      },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'gh_session' }, token: { type: 'http', scheme: 'bearer' } } },
      security: [{ session: [] }, { token: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.setErrorHandler((err, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const problems = err.validation.map((v) => `${err.validationContext ?? 'request'}${v.instancePath.replaceAll('/', '.')}: ${v.message}`);
      return reply.status(400).send({ code: 'GH_BAD_REQUEST', message: problems.join('; ') });
    }
    if (err instanceof ApiError) return reply.status(err.status).send({ ...err.extra, code: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send({ code: 'GH_BAD_REQUEST', message: (err as Error).message });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ code: 'GH_INTERNAL', message: 'internal error; see the server log' });
  });
  const consoleDir = deps.consoleDir ?? DEFAULT_CONSOLE_DIR;
  const consoleBuilt = existsSync(`${consoleDir}/index.html`);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // The console is a single-page app: its own paths (/alarms, /doors …) get its page.
    if (request.method === 'GET' && !path.startsWith('/api/') && path !== '/metrics') {
      if (consoleBuilt) return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
      return reply.status(404).type('text/plain; charset=utf-8').send(`The web console is not built here (${consoleDir}): run npm run build. The API is at /api/v1/.`);
    }
    reply.status(404).send({ code: 'GH_NOT_FOUND', message: `no route ${request.method} ${path}; see /api/v1/openapi.json` });
  });
  if (consoleBuilt) {
    // Hashed asset names: cached for good; index.html (the not-found path above): always revalidated.
    await app.register(fastifyStatic, { root: consoleDir, index: false, wildcard: true, maxAge: '365d', immutable: true });
    app.get('/', { schema: { hide: true } }, (_request, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false }));
  }

  const api = app.withTypeProvider<ZodTypeProvider>();
  const startedAt = Date.now();

  api.get(
    '/api/v1/health',
    {
      schema: {
        summary: 'Liveness and readiness of the cloud service',
        tags: ['service'],
        response: {
          200: z.object({ status: z.enum(['ok', 'degraded']), version: z.string(), storage: z.string(), database: z.boolean(), broker: z.boolean(), uptimeSeconds: z.number() }),
          503: z.object({ status: z.enum(['ok', 'degraded']), version: z.string(), storage: z.string(), database: z.boolean(), broker: z.boolean(), uptimeSeconds: z.number() }),
        },
      },
    },
    async (_request, reply) => {
      const database = await deps.db.query('SELECT 1').then(
        () => true,
        () => false,
      );
      const broker = deps.ingestConnected();
      const body = {
        status: database && broker ? ('ok' as const) : ('degraded' as const),
        version: deps.version,
        storage: deps.db.kind,
        database,
        broker,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      };
      return reply.status(database ? 200 : 503).send(body);
    },
  );

  registerAuthRoutes(api, { db: deps.db, ...deps.auth, secureCookies: deps.auth.settings.secureCookies, sessionMaxHours: deps.auth.settings.sessionMaxHours });
  registerReadRoutes(api, deps);
  registerCommandRoutes(api, deps);
  registerAuditRoutes(api, deps);
  registerLiveRoutes(api, {
    hub: deps.live,
    currentPrincipal: (request) => authenticate(request, { sessions: deps.auth.sessions, tokens: deps.auth.tokens, metricsFromLoopback: false }).catch(() => undefined),
  });
  for (const register of deps.domainRoutes ?? []) register(api);
  // Open live streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => deps.live.stop());

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  return app;
}
