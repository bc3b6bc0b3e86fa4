import { z } from 'zod';
import { errorBodySchema } from '../api/app.js';
import { ApiError } from '../api/errors.js';
import { epochMs, idParam, type Api } from '../api/route-types.js';
import { listedSites, principalOf, requireRecordSite } from '../auth/request-principal.js';
import { canSeeSite } from '../auth/roles.js';
import { MAX_DOCUMENT_BYTES, type AssetLedger } from './asset-ledger.js';
import type { MaintenancePlans } from './maintenance-plans.js';
import { planInputSchema, resolvePlan, calendarRuleSchema, usageRuleSchema } from './plan-input.js';
import { isoDateSchema } from './plan-schedule.js';
import { PLAN_TEMPLATES } from './plan-templates.js';
import { WORK_ORDER_CATEGORIES, WORK_ORDER_STATES } from './work-order-rules.js';
import type { WorkOrderService } from './work-order-service.js';
import { workOrderSchema } from './work-order-routes.js';

const text = (max: number, what: string) => z.string().trim().max(max, `expected ${what} of at most ${max} characters`);
const kindSchema = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'expected a snake_case kind such as lift, pump, fire_equipment');
const ledgerFields = {
  make: text(128, 'a make').min(1).nullable().optional(),
  model: text(128, 'a model').min(1).nullable().optional(),
  serialNo: text(128, 'a serial number').min(1).nullable().optional(),
  installedOn: isoDateSchema.nullable().optional(),
  warrantyUntil: isoDateSchema.nullable().optional(),
  location: text(200, 'a location').min(1).nullable().optional(),
  notes: text(5000, 'notes').nullable().optional(),
};

const assetSchema = z.object({
  site: z.string(),
  id: z.string(),
  name: z.string().nullable(),
  kind: z.string(),
  building: z.string().nullable(),
  devices: z.array(z.string()),
  declared: z.boolean().meta({ description: 'declared in the configuration: its name, kind, building and devices are changed there' }),
  make: z.string().nullable(),
  model: z.string().nullable(),
  serialNo: z.string().nullable(),
  installedOn: z.string().nullable(),
  warrantyUntil: z.string().nullable(),
  location: z.string().nullable(),
  notes: z.string().nullable(),
  activeOrders: z.number().int(),
  nextPlanDue: z.string().nullable().meta({ description: 'the soonest next due date of its plans (site-local YYYY-MM-DD)' }),
});

const documentSchema = z.object({ id: z.string(), title: z.string(), fileName: z.string(), contentType: z.string(), size: z.number().int(), createdBy: z.string(), createdAt: epochMs, url: z.string() });

const occurrenceSchema = z.object({
  id: z.string(),
  planId: z.string(),
  dueOn: z.string(),
  trigger: z.enum(['calendar', 'usage']),
  outcome: z.enum(['raised', 'skipped']),
  orderId: z.string().nullable(),
  orderNumber: z.string().nullable(),
  orderState: z.enum(WORK_ORDER_STATES).nullable(),
  reason: z.string().nullable(),
  actor: z.string(),
  recordedAt: epochMs,
});

const planSchema = z.object({
  id: z.string(),
  key: z.string().nullable().meta({ description: 'set for plans the configuration declares' }),
  site: z.string(),
  asset: z.string(),
  name: z.string(),
  template: z.string().nullable(),
  category: z.enum(WORK_ORDER_CATEGORIES),
  priority: z.number().int(),
  team: z.string(),
  checklist: z.array(z.string()),
  calendar: z.object({ every: z.number().int(), unit: z.enum(['day', 'week', 'month']), weekdays: z.array(z.number().int()).readonly().nullable().optional() }).nullable(),
  startsOn: z.string(),
  leadDays: z.number().int(),
  usage: z.object({ device: z.string(), metric: z.string(), every: z.number() }).nullable(),
  active: z.boolean(),
  createdBy: z.string(),
  createdAt: epochMs,
  nextDueOn: z.string().nullable().meta({ description: 'the next calendar due date (site-local)' }),
  raiseOn: z.string().nullable().meta({ description: 'when its order is raised: leadDays before' }),
  usageProgress: z.object({ since: z.number().nullable(), every: z.number(), current: z.number().nullable() }).nullable(),
  lastOccurrence: occurrenceSchema.nullable(),
});

const assetParams = z.object({ site: idParam, asset: idParam });
const planParams = z.object({ id: z.string().regex(/^[1-9][0-9]{0,17}$/, 'expected a plan id') });

/** The equipment ledger (设备台账) and preventive maintenance plans (维保计划). */
export function registerLedgerRoutes(api: Api, deps: { ledger: AssetLedger; plans: MaintenancePlans; orders: WorkOrderService }): void {
  const { ledger, plans, orders } = deps;

  api.get(
    '/api/v1/assets',
    {
      schema: {
        summary: 'The equipment ledger of the granted sites: assets with make, model, serial, dates, active orders and next plan due',
        tags: ['equipment'],
        querystring: z.object({ site: idParam.optional(), kind: kindSchema.optional(), q: z.string().trim().min(1).max(64).optional() }),
        response: { 200: z.object({ assets: z.array(assetSchema) }), 400: errorBodySchema },
      },
    },
    async (request) => {
      const { site, kind, q } = request.query;
      return { assets: await ledger.list(listedSites(request, site), { ...(kind ? { kind } : {}), ...(q ? { q } : {}) }) };
    },
  );

  api.get(
    '/api/v1/sites/:site/assets/:asset',
    {
      schema: {
        summary: 'One asset: its ledger entry, documents, plans and full maintenance history (every order on it, newest first)',
        tags: ['equipment'],
        params: assetParams,
        response: {
          200: assetSchema.extend({ documents: z.array(documentSchema), plans: z.array(planSchema), history: z.array(workOrderSchema) }),
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { site, asset } = request.params;
      const found = await ledger.get(site, asset);
      if (!found) throw new ApiError('GH_NOT_FOUND', `no asset ${asset} on site ${site}`);
      const [documents, assetPlans, history] = await Promise.all([ledger.documents(site, asset), plans.list([site], { asset }), ledger.history(site, asset, Date.now())]);
      return { ...found, documents, plans: assetPlans, history };
    },
  );

  api.post(
    '/api/v1/sites/:site/assets',
    {
      schema: {
        summary: 'Add an asset to the ledger (one the configuration does not declare)',
        tags: ['equipment'],
        params: z.object({ site: idParam }),
        body: z
          .object({
            id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected an id of letters, digits, dot, dash or underscore'),
            name: text(128, 'a name').min(1, 'expected a name'),
            kind: kindSchema,
            building: idParam.optional(),
            devices: z.array(idParam).max(50).optional(),
            ...ledgerFields,
          })
          .strict(),
        response: { 201: assetSchema, 400: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const created = await ledger.create({ site: request.params.site, ...withoutNullish(request.body) }, principalOf(request).username);
      return reply.code(201).send(created);
    },
  );

  api.patch(
    '/api/v1/sites/:site/assets/:asset',
    {
      schema: {
        summary: 'Change an asset’s ledger entry (null clears a field); name, kind, building and devices only of assets added here',
        tags: ['equipment'],
        params: assetParams,
        body: z.object({ name: text(128, 'a name').min(1).optional(), kind: kindSchema.optional(), building: idParam.optional(), devices: z.array(idParam).max(50).optional(), ...ledgerFields }).strict(),
        response: { 200: assetSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { site, asset } = request.params;
      const changes = Object.fromEntries(Object.entries(request.body).filter(([, v]) => v !== undefined));
      return ledger.update(site, asset, changes, principalOf(request).username);
    },
  );

  api.post(
    '/api/v1/sites/:site/assets/:asset/documents',
    {
      bodyLimit: Math.ceil((MAX_DOCUMENT_BYTES * 4) / 3) + 64 * 1024,
      schema: {
        summary: 'Keep a manual, certificate or inspection report with an asset: a PDF, JPEG, PNG or WebP (checked by its bytes) of at most 10 MiB, base64',
        tags: ['equipment'],
        params: assetParams,
        body: z
          .object({
            title: text(200, 'a title').min(1, 'expected a title'),
            fileName: text(200, 'a file name').min(1, 'expected a file name'),
            dataBase64: z.string().min(1).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected the file as base64'),
          })
          .strict(),
        response: { 201: documentSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { site, asset } = request.params;
      const { title, fileName, dataBase64 } = request.body;
      const doc = await ledger.addDocument(site, asset, principalOf(request).username, { title, fileName, data: Buffer.from(dataBase64, 'base64') });
      return reply.code(201).send(doc);
    },
  );

  api.get(
    '/api/v1/sites/:site/assets/:asset/documents/:document',
    {
      schema: {
        summary: 'A document of an asset, as the file it is (never as anything a browser would run)',
        tags: ['equipment'],
        params: assetParams.extend({ document: z.string().regex(/^[1-9][0-9]{0,17}$/, 'expected a document id') }),
        response: { 200: z.any().meta({ description: 'application/pdf, image/jpeg, image/png or image/webp' }), 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { site, asset, document } = request.params;
      const doc = await ledger.document(site, asset, document);
      if (!doc) throw new ApiError('GH_NOT_FOUND', `asset ${asset} has no document ${document}`);
      return reply
        .header('content-type', doc.contentType)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(doc.fileName)}`)
        .header('cache-control', 'private, max-age=86400')
        .send(doc.data);
    },
  );

  // ---- plans ----

  const requirePlan = async (request: Parameters<typeof requireRecordSite>[0], id: string): Promise<void> => {
    const site = await plans.siteOf(id);
    if (site === undefined) throw new ApiError('GH_NOT_FOUND', `no maintenance plan ${id}`);
    requireRecordSite(request, site, `maintenance plan ${id}`);
  };

  api.get(
    '/api/v1/maintenance-plan-templates',
    {
      schema: {
        summary: 'Ready-made plans: the periodic checks required in China (lift every 15 days, fire equipment monthly) and a usage-based service',
        tags: ['equipment'],
        response: {
          200: z.object({
            templates: z.array(
              z.object({
                id: z.string(),
                category: z.enum(WORK_ORDER_CATEGORIES),
                priority: z.number().int(),
                calendar: z.object({ every: z.number().int(), unit: z.enum(['day', 'week', 'month']) }),
                leadDays: z.number().int(),
                assetKinds: z.array(z.string()),
                name: z.record(z.string(), z.string()),
                basis: z.record(z.string(), z.string()),
                checklist: z.record(z.string(), z.array(z.string())),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ templates: PLAN_TEMPLATES.map((t) => ({ ...t, calendar: { every: t.calendar.every, unit: t.calendar.unit } })) }),
  );

  api.get(
    '/api/v1/maintenance-plans',
    {
      schema: {
        summary: 'Preventive maintenance plans of the granted sites, with their next due date and usage count',
        tags: ['equipment'],
        querystring: z.object({ site: idParam.optional(), asset: idParam.optional() }),
        response: { 200: z.object({ plans: z.array(planSchema) }), 400: errorBodySchema },
      },
    },
    async (request) => {
      const { site, asset } = request.query;
      return { plans: await plans.list(listedSites(request, site), asset ? { asset } : {}) };
    },
  );

  api.get(
    '/api/v1/maintenance-calendar',
    {
      schema: {
        summary: 'The plan calendar: occurrences recorded (raised or skipped) and those foreseen, between two site-local dates (at most 400 days)',
        tags: ['equipment'],
        querystring: z.object({ site: idParam.optional(), from: isoDateSchema, to: isoDateSchema }),
        response: {
          200: z.object({
            entries: z.array(
              z.object({
                planId: z.string(),
                planName: z.string(),
                site: z.string(),
                asset: z.string(),
                category: z.enum(WORK_ORDER_CATEGORIES),
                dueOn: z.string(),
                status: z.enum(['raised', 'skipped', 'planned']),
                orderId: z.string().nullable(),
                orderNumber: z.string().nullable(),
                orderState: z.enum(WORK_ORDER_STATES).nullable(),
              }),
            ),
          }),
          400: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { site, from, to } = request.query;
      if (from > to) throw new ApiError('GH_BAD_REQUEST', `from ${from} is after to ${to}`);
      if (Date.parse(to) - Date.parse(from) > 400 * 86_400_000) throw new ApiError('GH_BAD_REQUEST', 'at most 400 days at a time');
      return { entries: await plans.calendar(listedSites(request, site), from, to, site) };
    },
  );

  api.get(
    '/api/v1/maintenance-plans/:id',
    {
      schema: {
        summary: 'One plan: its occurrences (raised or skipped, newest first) and its next six due dates',
        tags: ['equipment'],
        params: planParams,
        response: { 200: planSchema.extend({ occurrences: z.array(occurrenceSchema), upcoming: z.array(z.string()) }), 404: errorBodySchema },
      },
    },
    async (request) => {
      await requirePlan(request, request.params.id);
      const plan = await plans.get(request.params.id);
      if (!plan) throw new ApiError('GH_NOT_FOUND', `no maintenance plan ${request.params.id}`);
      return plan;
    },
  );

  api.post(
    '/api/v1/maintenance-plans',
    {
      schema: {
        summary: 'Make a plan: on a calendar (every N days, weeks on given weekdays, or months) and/or on usage read from a meter, whichever comes first; a template fills in what is left out',
        tags: ['equipment'],
        body: planInputSchema,
        response: { 201: planSchema, 400: errorBodySchema, 403: errorBodySchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!canSeeSite(principalOf(request), body.site)) throw new ApiError('GH_SITE_FORBIDDEN', `site ${body.site} is not granted to you`);
      let definition;
      try {
        definition = resolvePlan(body, orders.config.language);
      } catch (err) {
        throw new ApiError('GH_BAD_REQUEST', (err as Error).message);
      }
      return reply.code(201).send(await plans.create(definition, principalOf(request).username));
    },
  );

  api.patch(
    '/api/v1/maintenance-plans/:id',
    {
      schema: {
        summary: 'Change a plan (pause it with active: false); its recorded occurrences stay',
        tags: ['equipment'],
        params: planParams,
        body: z
          .object({
            name: text(200, 'a name').min(1).optional(),
            category: z.enum(WORK_ORDER_CATEGORIES).optional(),
            priority: z.number().int().min(1).max(4).optional(),
            team: idParam.optional(),
            checklist: z.array(text(200, 'a checklist item').min(1)).max(50).optional(),
            calendar: calendarRuleSchema.nullable().optional(),
            startsOn: isoDateSchema.optional(),
            leadDays: z.number().int().min(0).max(90).optional(),
            usage: usageRuleSchema.nullable().optional(),
            active: z.boolean().optional(),
          })
          .strict(),
        response: { 200: planSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      await requirePlan(request, request.params.id);
      const changes = Object.fromEntries(Object.entries(request.body).filter(([, v]) => v !== undefined));
      return plans.update(request.params.id, changes, principalOf(request).username);
    },
  );

  api.post(
    '/api/v1/maintenance-plans/:id/skip',
    {
      schema: {
        summary: 'Skip the next calendar occurrence, recorded with who and why (the one after it becomes next)',
        tags: ['equipment'],
        params: planParams,
        body: z.object({ reason: text(500, 'a reason').min(1, 'expected a reason') }).strict(),
        response: { 200: planSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      await requirePlan(request, request.params.id);
      return plans.skipNext(request.params.id, principalOf(request).username, request.body.reason);
    },
  );
}

function withoutNullish<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined | null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as never;
}
