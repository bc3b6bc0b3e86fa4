import { QUALITIES, streamStateSchema } from '@gatehouse/contracts';
import { epochMs, idParam, type Api } from './route-types.js';
import { z } from 'zod';
import type { ApiDependencies } from './app.js';
import { errorBodySchema } from './app.js';
import { ApiError } from './errors.js';
import { principalOf } from '../auth/request-principal.js';
import { canSeeSite } from '../auth/roles.js';
import { meanOf } from '../storage/rollups/bucket-calculator.js';
import { calendarOf, NOMINAL_LEVEL_MS, ROLLUP_LEVELS, type RollupLevel } from '../storage/rollups/site-calendar.js';
import { chooseResolution, MAX_SERIES_POINTS, SeriesReadError, SeriesReader, type StepRequest } from '../storage/series-reader.js';
import { ROLLUP_FIELDS, type Bucket } from '../storage/time-series-store.js';
import { instantParam, stepParam } from './time-params.js';
import { deviceTable } from './device-table.js';
import { RollupFieldCache } from '../storage/rollups/rollup-field-cache.js';

const nullableEpochMs = epochMs.nullable();

/**
 * Series answers run to hundreds of thousands of buckets; checking each against its schema on the way
 * out would cost more than reading them from the database. These routes serialise plain JSON (the
 * schema still documents them in the OpenAPI, and the handlers build them from typed rows).
 */
const plainJson = () => (data: unknown) => JSON.stringify(data);

/** Largest number of points one series request returns. */
const MAX_POINTS = MAX_SERIES_POINTS;
const DEFAULT_RANGE_MS = 3_600_000;
/** Largest number of buckets one site-wide rollup request returns (500 meters × a year of days). */
const MAX_SITE_BUCKETS = 400_000;
/** The table holds one number per device and interval, so it can afford five times as many. */
const MAX_SITE_TABLE_VALUES = 5 * MAX_SITE_BUCKETS;

function requireOrderedRange(from: number, to: number): void {
  if (from >= to) throw new ApiError('GH_BAD_TIME_RANGE', `"from" (${new Date(from).toISOString()}) must be before "to" (${new Date(to).toISOString()})`);
}

/** Refuses a site-wide request larger than `limit` device × interval values before reading anything. */
function requireSiteSize(devices: number, level: RollupLevel, from: number, to: number, limit: number): void {
  const intervals = Math.ceil((to - from) / NOMINAL_LEVEL_MS[level]);
  if (devices * intervals > limit) {
    throw new ApiError('GH_TOO_MANY_POINTS', `${devices} devices × ${intervals} ${level} intervals is more than ${limit}: use a coarser level or a shorter range`);
  }
}

export function registerReadRoutes(api: Api, deps: ApiDependencies): void {
  /** Why a site, device or metric asked for is not there, naming it: 404 rather than an empty answer. */
  const notFound = async (site: string, device: string | undefined, metric: string): Promise<ApiError> => {
    if ((await deps.db.query('SELECT 1 FROM sites WHERE id = $1', [site])).length === 0) return new ApiError('GH_NOT_FOUND', `no site ${site}`);
    if (device === undefined) return new ApiError('GH_NOT_FOUND', `no device of site ${site} reports metric ${metric}`);
    const known = await deps.db.query('SELECT 1 FROM devices WHERE site = $1 AND id = $2 UNION ALL SELECT 1 FROM series WHERE site = $1 AND device = $2 LIMIT 1', [site, device]);
    if (known.length === 0) return new ApiError('GH_NOT_FOUND', `no device ${device} at site ${site}`);
    return new ApiError('GH_NOT_FOUND', `device ${device} at site ${site} has no metric ${metric}`);
  };
  // The settled part of the device × interval tables dashboards ask for again and again.
  const fieldCache = new RollupFieldCache(deps.timeSeries);
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
    async (request) => {
      const principal = principalOf(request);
      return { sites: (await deps.registry.listSites()).filter((s) => canSeeSite(principal, s.id)) };
    },
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
    async (request) => {
      const principal = principalOf(request);
      return { gateways: (await deps.registry.listGateways(request.query.site)).filter((g) => canSeeSite(principal, g.site)) };
    },
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
                reportedAs: z.enum(['online', 'offline']).nullable().meta({ description: 'the last device_offline / device_online event of a door, panel or camera' }),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return { devices: (await deps.registry.listDevices(request.query.site)).filter((d) => canSeeSite(principal, d.site)) };
    },
  );

  api.get(
    '/api/v1/sites/:site/assets',
    {
      schema: {
        summary: 'The buildings of a site, and its assets with the devices that measure or serve them',
        description: 'Declared in the cloud configuration (sites[].buildings, sites[].assets).',
        tags: ['sites'],
        params: z.object({ site: idParam }),
        response: {
          200: z.object({
            site: z.string(),
            buildings: z.array(z.object({ id: z.string(), name: z.string().nullable() })),
            assets: z.array(z.object({ id: z.string(), name: z.string().nullable(), kind: z.string(), building: z.string().nullable(), devices: z.array(z.string()) })),
          }),
        },
      },
    },
    async (request) => ({ site: request.params.site, ...(await deps.registry.assetsOf(request.params.site)) }),
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

  const bucketSchema = z.object({
    ts: epochMs.meta({ description: 'start of the interval' }),
    mean: z.number().nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    last: z.number().nullable().meta({ description: 'last good value in the interval' }),
    count: z.number().meta({ description: 'good readings in the interval' }),
    consumption: z
      .number()
      .nullable()
      .meta({ description: "counters: sum of the trusted steps that ended in the interval (start exclusive, end inclusive); resets and rollovers are not consumption. null for gauges" }),
  });
  const toBucket = (b: Bucket) => ({ ts: b.ts, mean: meanOf(b), min: b.min, max: b.max, last: b.last, count: b.count, consumption: b.consumption });

  api.get(
    '/api/v1/series',
    {
      serializerCompiler: plainJson,
      schema: {
        summary: 'Readings of one metric of one device over a time range, raw or rolled up',
        description:
          '`step` chooses the resolution: `raw`; a rollup level `15m`, `1h`, `1d` or `1mo` (hours, days and months of the site\'s time zone, DST included); ' +
          'a whole number of one of them (`6h`, `7d`), built from that level; or any other width (`1m`, `10m`), computed from the raw readings with the same arithmetic. ' +
          'Without `step` the resolution follows the range: raw up to 2 days, 15m up to 62 days, 1h up to 2 years, 1d up to the point cap, 1mo beyond. ' +
          'Buckets aggregate good-quality values (mean, min, max, last, count) and, for counters, the consumption. ' +
          '`from` defaults to one hour before `to`; `to` to now. The answer says which resolution it used.',
        tags: ['readings'],
        querystring: z.object({
          site: idParam,
          device: idParam,
          metric: z.string().min(1).max(64),
          from: instantParam.optional(),
          to: instantParam.optional(),
          step: stepParam.optional(),
          limit: z.coerce.number().int().min(1).max(MAX_POINTS).default(MAX_POINTS),
        }),
        response: {
          200: z.object({
            site: z.string(),
            device: z.string(),
            metric: z.string(),
            unit: z.string().nullable(),
            kind: z.enum(['gauge', 'counter']).nullable(),
            from: epochMs,
            to: epochMs,
            resolution: z.enum(['raw', ...ROLLUP_LEVELS, 'computed']),
            stepMs: z.number().nullable().meta({ description: 'nominal bucket width; days and months vary with DST and the calendar' }),
            points: z.union([z.array(z.object({ ts: epochMs, value: z.number().nullable(), quality: z.enum(QUALITIES) })), z.array(bucketSchema)]),
            truncated: z.boolean().meta({ description: 'true when `limit` cut the answer: more points lie in the range' }),
          }),
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const timeZone = await deps.timeSeries.timeZoneOf(q.site);
      const to = q.to?.at(timeZone) ?? Date.now();
      const from = q.from?.at(timeZone) ?? to - DEFAULT_RANGE_MS;
      requireOrderedRange(from, to);
      const step: StepRequest = q.step ?? { kind: 'auto' };
      const choice = chooseResolution(step, from, to);
      const width = choice.kind === 'level' ? NOMINAL_LEVEL_MS[choice.level] * choice.multiple : choice.kind === 'computed' ? choice.ms : undefined;
      if (width !== undefined && (to - from) / width > MAX_POINTS) {
        throw new ApiError('GH_TOO_MANY_POINTS', `${Math.ceil((to - from) / width)} buckets requested; at most ${MAX_POINTS}: use a larger step or a shorter range`);
      }
      const base = { site: q.site, device: q.device, metric: q.metric, from, to };
      const series = await deps.timeSeries.series(q.site, q.device, q.metric);
      if (!series) throw await notFound(q.site, q.device, q.metric);
      try {
        // One more than asked for: then the answer can say it was cut.
        const answer = await new SeriesReader(deps.timeSeries).read(series, step, from, to, q.limit + 1);
        const truncated = answer.points.length > q.limit;
        const points =
          answer.resolution === 'raw'
            ? answer.points.slice(0, q.limit).map(({ ts, value, quality }) => ({ ts, value, quality }))
            : answer.points.slice(0, q.limit).map(toBucket);
        return { ...base, unit: series.unit, kind: series.kind, resolution: answer.resolution, stepMs: answer.stepMs, points, truncated };
      } catch (err) {
        if (err instanceof SeriesReadError) throw new ApiError(err.code, err.message);
        throw err;
      }
    },
  );

  api.get(
    '/api/v1/sites/:site/rollups',
    {
      serializerCompiler: plainJson,
      schema: {
        summary: 'One rollup of one metric for every device of a site (e.g. daily energy of all meters)',
        description:
          'Buckets of `level` (15m, 1h, 1d or 1mo in the site\'s time zone) starting in [from, to), one list per device. ' +
          'For counters, `consumption` is the energy or volume used in each interval.',
        tags: ['readings'],
        params: z.object({ site: idParam }),
        querystring: z.object({
          metric: z.string().min(1).max(64),
          level: z.enum(ROLLUP_LEVELS).default('1d'),
          from: instantParam,
          to: instantParam.optional(),
        }),
        response: {
          200: z.object({
            site: z.string(),
            metric: z.string(),
            level: z.enum(ROLLUP_LEVELS),
            timeZone: z.string(),
            from: epochMs,
            to: epochMs,
            devices: z.array(z.object({ device: z.string(), unit: z.string(), kind: z.enum(['gauge', 'counter']), buckets: z.array(bucketSchema) })),
          }),
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { site } = request.params;
      const q = request.query;
      const timeZone = await deps.timeSeries.timeZoneOf(site);
      const from = q.from.at(timeZone);
      const to = q.to?.at(timeZone) ?? Date.now();
      requireOrderedRange(from, to);
      const series = await deps.timeSeries.seriesOfSite(site, q.metric);
      if (series.length === 0) throw await notFound(site, undefined, q.metric);
      requireSiteSize(series.length, q.level, from, to, MAX_SITE_BUCKETS);
      const buckets = await new SeriesReader(deps.timeSeries).site(series, q.level, from, to);
      return {
        site,
        metric: q.metric,
        level: q.level,
        timeZone,
        from,
        to,
        devices: series.map((s, i) => ({ device: s.device, unit: s.unit, kind: s.kind, buckets: (buckets[i] ?? []).map(toBucket) })),
      };
    },
  );

  api.get(
    '/api/v1/sites/:site/rollup-table',
    {
      serializerCompiler: plainJson,
      schema: {
        summary: 'One field of one rollup for every device of a site, as a device × interval table',
        description:
          'The lean form of the site rollups for reports and dashboards: one time axis (`ts`, interval starts in the site\'s time zone) and, ' +
          'per device, the values of `field` on that axis (null where the device has no bucket). ' +
          'The daily energy of every meter for a year is `metric=import_energy&level=1d&field=consumption`.',
        tags: ['readings'],
        params: z.object({ site: idParam }),
        querystring: z.object({
          metric: z.string().min(1).max(64),
          level: z.enum(ROLLUP_LEVELS).default('1d'),
          field: z.enum(ROLLUP_FIELDS).default('consumption'),
          from: instantParam,
          to: instantParam.optional(),
        }),
        response: {
          200: z.object({
            site: z.string(),
            metric: z.string(),
            level: z.enum(ROLLUP_LEVELS),
            field: z.enum(ROLLUP_FIELDS),
            timeZone: z.string(),
            from: epochMs,
            to: epochMs,
            ts: z.array(epochMs),
            devices: z.array(z.object({ device: z.string(), unit: z.string(), kind: z.enum(['gauge', 'counter']), values: z.array(z.number().nullable()) })),
          }),
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { site } = request.params;
      const q = request.query;
      const timeZone = await deps.timeSeries.timeZoneOf(site);
      const from = q.from.at(timeZone);
      const to = q.to?.at(timeZone) ?? Date.now();
      requireOrderedRange(from, to);
      const series = await deps.timeSeries.seriesOfSite(site, q.metric);
      if (series.length === 0) throw await notFound(site, undefined, q.metric);
      requireSiteSize(series.length, q.level, from, to, MAX_SITE_TABLE_VALUES);
      const start = calendarOf(timeZone).start(q.level, from);
      const columns = await fieldCache.read(q.level, q.field, series, start, to);
      const { axis, rows } = deviceTable(series.map((s) => columns.get(s.id) ?? { ts: [], values: [] }));
      return {
        site,
        metric: q.metric,
        level: q.level,
        field: q.field,
        timeZone,
        from: start,
        to,
        ts: axis,
        devices: series.map((s, i) => ({ device: s.device, unit: s.unit, kind: s.kind, values: rows[i]! })),
      };
    },
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
