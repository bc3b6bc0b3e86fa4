import { QUALITIES, streamStateSchema } from '@gatehouse/contracts';
import type { FastifyInstance, FastifyBaseLogger, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDependencies } from './app.js';
import { errorBodySchema } from './app.js';
import { ApiError } from './errors.js';
import { durationParam, instantParam } from './time-params.js';

type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

const idParam = z.string().min(1).max(64);
const epochMs = z.number().meta({ description: 'epoch milliseconds' });
const nullableEpochMs = epochMs.nullable();

/** Largest number of points one series request returns. */
const MAX_POINTS = 20_000;
const DEFAULT_RANGE_MS = 3_600_000;

export function registerReadRoutes(api: Api, deps: ApiDependencies): void {
  api.get(
    '/api/v1/sites',
    {
      schema: {
        summary: 'Sites with their gateway and device counts',
        tags: ['sites'],
        response: {
          200: z.object({
            sites: z.array(z.object({ id: z.string(), name: z.string().nullable(), timeZone: z.string(), gateways: z.number(), devices: z.number() })),
          }),
        },
      },
    },
    async () => ({ sites: await deps.registry.listSites() }),
  );

  api.get(
    '/api/v1/gateways',
    {
      schema: {
        summary: 'Gateways, their online status and when they were last heard from',
        tags: ['sites'],
        querystring: z.object({ site: idParam.optional() }),
        response: {
          200: z.object({
            gateways: z.array(
              z.object({
                site: z.string(),
                id: z.string(),
                status: z.enum(['online', 'offline', 'unknown']),
                version: z.string().nullable(),
                lastSeen: nullableEpochMs,
                statusChangedAt: nullableEpochMs,
                lastSeq: z.number().nullable(),
                streams: z
                  .object({ telemetry: streamStateSchema, events: streamStateSchema })
                  .nullable()
                  .meta({ description: "the gateway's journals as it last reported them: backlog waiting to be delivered, drain rate" }),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({ gateways: await deps.registry.listGateways(request.query.site) }),
  );

  api.get(
    '/api/v1/devices',
    {
      schema: {
        summary: 'Devices, the gateway that serves them and when they were last read',
        tags: ['sites'],
        querystring: z.object({ site: idParam.optional() }),
        response: {
          200: z.object({
            devices: z.array(
              z.object({
                site: z.string(),
                id: z.string(),
                gateway: z.string(),
                kind: z.string(),
                driver: z.string().nullable(),
                profile: z.string().nullable(),
                name: z.string().nullable(),
                lastSeen: nullableEpochMs,
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({ devices: await deps.registry.listDevices(request.query.site) }),
  );

  api.get(
    '/api/v1/sites/:site/devices/:device/latest',
    {
      schema: {
        summary: 'The latest reading of every metric of a device',
        tags: ['readings'],
        params: z.object({ site: idParam, device: idParam }),
        response: {
          200: z.object({
            readings: z.array(
              z.object({ device: z.string(), metric: z.string(), unit: z.string(), ts: epochMs, value: z.number().nullable(), quality: z.enum(QUALITIES) }),
            ),
          }),
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const readings = await deps.timeSeries.latest(request.params.site, request.params.device);
      if (readings.length === 0) throw new ApiError('GH_NOT_FOUND', `no readings for device "${request.params.device}" on site "${request.params.site}"`);
      return { readings };
    },
  );

  api.get(
    '/api/v1/series',
    {
      schema: {
        summary: 'Readings of one metric of one device over a time range',
        description:
          'Without `step`, raw readings in time order (every quality). With `step`, one bucket per step aligned to the Unix epoch, ' +
          'aggregating good-quality values (mean, min, max, last, count). `from` defaults to one hour before `to`; `to` to now.',
        tags: ['readings'],
        querystring: z.object({
          site: idParam,
          device: idParam,
          metric: z.string().min(1).max(64),
          from: instantParam.optional(),
          to: instantParam.optional(),
          step: durationParam.optional(),
          limit: z.coerce.number().int().min(1).max(MAX_POINTS).default(MAX_POINTS),
        }),
        response: {
          200: z.object({
            site: z.string(),
            device: z.string(),
            metric: z.string(),
            unit: z.string().nullable(),
            from: epochMs,
            to: epochMs,
            stepMs: z.number().nullable(),
            points: z.union([
              z.array(z.object({ ts: epochMs, value: z.number().nullable(), quality: z.enum(QUALITIES) })),
              z.array(
                z.object({
                  ts: epochMs,
                  mean: z.number().nullable(),
                  min: z.number().nullable(),
                  max: z.number().nullable(),
                  last: z.number().nullable(),
                  count: z.number(),
                }),
              ),
            ]),
          }),
          400: errorBodySchema,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const to = q.to ?? Date.now();
      const from = q.from ?? to - DEFAULT_RANGE_MS;
      if (from >= to) throw new ApiError('GH_BAD_TIME_RANGE', `"from" (${new Date(from).toISOString()}) must be before "to" (${new Date(to).toISOString()})`);
      if (q.step !== undefined && (to - from) / q.step > MAX_POINTS) {
        throw new ApiError('GH_TOO_MANY_POINTS', `${Math.ceil((to - from) / q.step)} buckets requested; at most ${MAX_POINTS}: use a larger step or a shorter range`);
      }
      const result = await deps.timeSeries.query({ site: q.site, device: q.device, metric: q.metric, from, to, stepMs: q.step, limit: q.limit });
      return { site: q.site, device: q.device, metric: q.metric, unit: result.unit, from, to, stepMs: q.step ?? null, points: result.points };
    },
  );

  api.get(
    '/api/v1/events',
    {
      schema: {
        summary: 'The latest device events of a site, newest first',
        tags: ['events'],
        querystring: z.object({ site: idParam, limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: {
          200: z.object({
            events: z.array(
              z.object({
                site: z.string(),
                gateway: z.string(),
                id: z.string(),
                device: z.string(),
                type: z.string(),
                ts: epochMs,
                point: z.string().nullable(),
                credential: z.string().nullable(),
                reason: z.string().nullable(),
                attachments: z.number(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({ events: await deps.events.list(request.query.site, request.query.limit) }),
  );

  api.get(
    '/api/v1/dead-letters',
    {
      schema: {
        summary: 'Messages the ingest rejected, with the reason, newest first',
        tags: ['service'],
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: {
          200: z.object({
            deadLetters: z.array(z.object({ id: z.number(), receivedAt: epochMs, topic: z.string(), reason: z.string(), size: z.number() })),
          }),
        },
      },
    },
    async (request) => ({ deadLetters: await deps.deadLetters.list(request.query.limit) }),
  );
}
