import { z } from 'zod';
import { errorBodySchema } from '../api/app.js';
import { ApiError } from '../api/errors.js';
import { epochMs, idParam, type Api } from '../api/route-types.js';
import { instantParam, zoneForTimes } from '../api/time-params.js';
import type { SqlClient } from '../storage/sql-client.js';
import { DETECTORS } from './findings.js';

const nullableNumber = z.number().nullable();

export const findingSchema = z.object({
  id: z.string(),
  site: z.string(),
  device: z.string(),
  metric: z.string(),
  detector: z.enum(DETECTORS),
  variant: z.string().nullable().meta({ description: 'reset / rollover / negative_step / jump, up / down, counter / gauge, main_above_subs / main_below_subs' }),
  start: epochMs,
  end: epochMs,
  ongoing: z.boolean(),
  unit: z.string(),
  commodity: z.enum(['electricity', 'water', 'other']),
  actual: nullableNumber.meta({ description: 'consumption over the finding' }),
  expected: nullableNumber.meta({ description: 'what the baseline expected over it' }),
  expectedLow: nullableNumber,
  expectedHigh: nullableNumber,
  excess: nullableNumber.meta({ description: 'consumption beyond the expectation (kWh, m³)' }),
  costCny: nullableNumber.meta({ description: 'cost of the excess at the site tariff, CNY' }),
  confidence: z.number(),
  reason: z.object({ en: z.string(), zh: z.string() }),
  firstSeenAt: epochMs,
  updatedAt: epochMs,
});

const evidenceSchema = z
  .object({
    from: epochMs,
    step: z.number(),
    actual: z.array(nullableNumber),
    expected: z.array(nullableNumber),
    lower: z.array(nullableNumber),
    upper: z.array(nullableNumber),
  })
  .nullable()
  .meta({ description: 'the 15-minute series around the finding with its expected band' });

const meterStateSchema = z.object({
  device: z.string(),
  metric: z.string(),
  unit: z.string(),
  historyDays: z.number().int(),
  requiredDays: z.number().int(),
  state: z.enum(['learning', 'watching']).meta({ description: 'learning: too little history for a baseline yet (only gaps and counter events are reported)' }),
  learnedFrom: epochMs.nullable(),
  analysedAt: epochMs,
  dataTo: epochMs.nullable(),
});

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
const COLUMNS = `id::text AS id, site, device, metric, detector, variant, ${ms('start_at')} AS start, ${ms('end_at')} AS "end", ongoing, unit, commodity,
  actual, expected, expected_low AS "expectedLow", expected_high AS "expectedHigh", excess, cost_cny AS "costCny", confidence,
  json_build_object('en', reason_en, 'zh', reason_zh) AS reason, ${ms('first_seen_at')} AS "firstSeenAt", ${ms('updated_at')} AS "updatedAt"`;

const listParam = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.enum(DETECTORS)).min(1))
  .meta({ description: `detectors, comma-separated: ${DETECTORS.join(', ')}` });

export function registerFindingRoutes(api: Api, deps: { db: SqlClient; requiredDays: number }): void {
  const { db } = deps;
  const requireSite = async (site: string) => {
    const [row] = await db.query<{ id: string }>('SELECT id FROM sites WHERE id = $1', [site]);
    if (!row) throw new ApiError('GH_NOT_FOUND', `no site ${site}`);
  };

  api.get(
    '/api/v1/sites/:site/findings',
    {
      schema: {
        summary: "Energy findings of a site's meters, newest first (without their evidence: see /findings/{id})",
        tags: ['energy'],
        params: z.object({ site: idParam }),
        querystring: z.object({
          device: idParam.optional(),
          detector: listParam.optional(),
          ongoing: z.enum(['true', 'false']).optional(),
          from: instantParam.optional().meta({ description: 'findings that end after this' }),
          to: instantParam.optional().meta({ description: 'findings that start before this' }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          before: z.coerce.number().int().min(1).optional().meta({ description: 'id of the last finding of the previous page' }),
        }),
        response: { 200: z.object({ findings: z.array(findingSchema), nextBefore: z.string().nullable() }), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { site } = request.params;
      await requireSite(site);
      const query = request.query;
      const zone = await zoneForTimes(db, site, [query.from, query.to]);
      const q = { ...query, from: query.from?.at(zone), to: query.to?.at(zone) };
      if (q.from !== undefined && q.to !== undefined && q.from >= q.to) throw new ApiError('GH_BAD_TIME_RANGE');
      const where = ['site = $1'];
      const args: unknown[] = [site];
      const add = (sql: string, value: unknown) => {
        args.push(value);
        where.push(sql.replace('?', `$${args.length}`));
      };
      if (q.device) add('device = ?', q.device);
      if (q.detector) add('detector = ANY(?::text[])', q.detector);
      if (q.ongoing) add('ongoing = ?', q.ongoing === 'true');
      if (q.from !== undefined) add('end_at > to_timestamp(? / 1000.0)', q.from);
      if (q.to !== undefined) add('start_at < to_timestamp(? / 1000.0)', q.to);
      if (q.before !== undefined) add('id < ?', q.before);
      args.push(q.limit + 1);
      const rows = await db.query<z.infer<typeof findingSchema>>(`SELECT ${COLUMNS} FROM findings WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${args.length}`, args);
      const page = rows.slice(0, q.limit);
      return { findings: page, nextBefore: rows.length > q.limit ? page[page.length - 1]!.id : null };
    },
  );

  api.get(
    '/api/v1/sites/:site/findings/:id',
    {
      schema: {
        summary: 'One finding with its evidence: the 15-minute series around it and the expected band',
        tags: ['energy'],
        params: z.object({ site: idParam, id: z.string().regex(/^\d{1,18}$/, 'expected a finding id') }),
        response: { 200: findingSchema.extend({ evidence: evidenceSchema }), 404: errorBodySchema },
      },
    },
    async (request) => {
      const { site, id } = request.params;
      const [row] = await db.query<z.infer<typeof findingSchema> & { evidence: unknown }>(`SELECT ${COLUMNS}, evidence FROM findings WHERE site = $1 AND id = $2`, [site, id]);
      if (!row) throw new ApiError('GH_NOT_FOUND', `no finding ${id} at site ${site}`);
      return row as never;
    },
  );

  api.get(
    '/api/v1/sites/:site/detection',
    {
      schema: {
        summary: "The meters the detectors watch at a site, and whether each has enough history for a baseline",
        tags: ['energy'],
        params: z.object({ site: idParam }),
        response: { 200: z.object({ meters: z.array(meterStateSchema) }), 404: errorBodySchema },
      },
    },
    async (request) => {
      const { site } = request.params;
      await requireSite(site);
      const rows = await db.query<{ device: string; metric: string; unit: string; historyDays: number; learnedFrom: number | null; analysedAt: number; dataTo: number | null }>(
        `SELECT device, metric, unit, history_days AS "historyDays", ${ms('learned_from')} AS "learnedFrom", ${ms('analysed_at')} AS "analysedAt", ${ms('data_to')} AS "dataTo"
           FROM detection_meters WHERE site = $1 ORDER BY device`,
        [site],
      );
      return { meters: rows.map((r) => ({ ...r, requiredDays: deps.requiredDays, state: r.learnedFrom === null ? ('learning' as const) : ('watching' as const) })) };
    },
  );
}
