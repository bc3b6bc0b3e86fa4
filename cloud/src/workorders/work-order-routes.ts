import { z } from 'zod';
import { errorBodySchema } from '../api/app.js';
import { ApiError } from '../api/errors.js';
import { epochMs, idParam, listParam, type Api } from '../api/route-types.js';
import { instantParam, zoneForTimes } from '../api/time-params.js';
import { listedSites, principalOf, requireRecordSite } from '../auth/request-principal.js';
import { canSeeSite } from '../auth/roles.js';
import { WORK_ORDER_ACTIONS, WORK_ORDER_CATEGORIES, WORK_ORDER_ORIGINS, WORK_ORDER_STATES, type WorkOrderState } from './work-order-rules.js';
import { MAX_PHOTO_BYTES, type WorkOrderService } from './work-order-service.js';
import { parseOrderId } from './work-order-store.js';

const nullableMs = epochMs.nullable();

const sla = z.enum(['on_track', 'due_soon', 'breached', 'met']);
/** Plain text, stored as given and always served as text (the console never renders it as HTML). */
const text = (max: number, what: string) => z.string().trim().max(max, `expected ${what} of at most ${max} characters`);

export const workOrderSchema = z.object({
  id: z.string(),
  number: z.string().meta({ description: 'WO- and the id: what people quote' }),
  site: z.string(),
  title: z.string(),
  category: z.enum(WORK_ORDER_CATEGORIES),
  priority: z.number().int().min(1).max(4).meta({ description: '1 urgent, 2 high, 3 normal, 4 low' }),
  state: z.enum(WORK_ORDER_STATES),
  origin: z.enum(WORK_ORDER_ORIGINS),
  sourceKey: z.string().nullable().meta({ description: 'automatic orders: the asset and problem (one active order per key)' }),
  asset: z.string().nullable(),
  building: z.string().nullable(),
  floor: z.string().nullable(),
  unit: z.string().nullable(),
  device: z.string().nullable(),
  description: z.string(),
  evidence: z.record(z.string(), z.unknown()).nullable().meta({ description: "the finding (sentence, chart data with the expected band) or the alarm (its event's pictures) that raised it" }),
  team: z.string().nullable(),
  assignee: z.string().nullable(),
  requesterName: z.string().nullable(),
  requesterContact: z.string().nullable(),
  createdBy: z.string(),
  createdAt: epochMs,
  updatedAt: epochMs,
  responseDueAt: epochMs.meta({ description: 'due to be started by' }),
  resolutionDueAt: epochMs.meta({ description: 'due to be completed by' }),
  slaMode: z.enum(['24x7', 'working_hours']),
  respondedAt: nullableMs,
  completedAt: nullableMs,
  closedAt: nullableMs,
  cancelledAt: nullableMs,
  holdReason: z.string().nullable(),
  occurrences: z.number().int().meta({ description: 'findings or fault episodes counted on it' }),
  lastOccurrenceAt: epochMs,
  conditionClearedAt: nullableMs.meta({ description: 'every problem that raised it has ended (a person still closes it)' }),
  checklist: z.array(z.object({ text: z.string(), done: z.boolean(), doneBy: z.string().nullable(), doneAt: nullableMs })),
  parts: z.array(z.object({ name: z.string(), quantity: z.number(), costCny: z.number().nullable() })),
  labourMinutes: z.number().int(),
  costCny: z.number().nullable(),
  rating: z.number().int().nullable(),
  ratingComment: z.string().nullable(),
  responseSla: sla,
  resolutionSla: sla,
});

const photoSchema = z.object({
  id: z.string(),
  stage: z.enum(['before', 'after', 'other']),
  fileName: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  createdBy: z.string(),
  createdAt: epochMs,
  url: z.string(),
});

const historySchema = z.object({ id: z.string(), at: epochMs, actor: z.string(), kind: z.string(), fromState: z.string().nullable(), toState: z.string().nullable(), note: z.string().nullable() });

const orderParams = z.object({ id: z.string().min(1).max(24) });
const STATE_FILTERS = [...WORK_ORDER_STATES, 'active'] as const;

/** Work orders: the board, one order, raising one by hand, and moving it through its lifecycle. */
export function registerWorkOrderRoutes(api: Api, deps: { orders: WorkOrderService }): void {
  const { orders } = deps;

  /** The order's id if the caller may see it (404 otherwise, as for one that does not exist). */
  const requireOrder = async (request: Parameters<typeof requireRecordSite>[0], raw: string): Promise<string> => {
    const id = parseOrderId(raw);
    const site = id === undefined ? undefined : await orders.siteOf(id);
    if (id === undefined || site === undefined) throw new ApiError('GH_NOT_FOUND', `no work order ${raw}`);
    requireRecordSite(request, site, `work order ${raw}`);
    return id;
  };

  api.get(
    '/api/v1/work-orders',
    {
      schema: {
        summary: 'Work orders of the granted sites, most urgent first (priority, then oldest), with how many match in each state',
        tags: ['work orders'],
        querystring: z.object({
          site: idParam.optional(),
          state: listParam(STATE_FILTERS, 'states').optional().meta({ description: `${WORK_ORDER_STATES.join(', ')}, or active (open to on hold); default all` }),
          team: listParam(orders.config.teams.map((t) => t.id), 'teams').optional(),
          category: listParam(WORK_ORDER_CATEGORIES, 'categories').optional(),
          priority: listParam(['1', '2', '3', '4'] as const, 'priorities').optional(),
          assignee: z.string().min(1).max(64).optional(),
          asset: idParam.optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.string().max(100).optional().meta({ description: 'nextCursor of the previous page' }),
        }),
        response: { 200: z.object({ orders: z.array(workOrderSchema), counts: z.record(z.string(), z.number().int()), nextCursor: z.string().nullable() }), 400: errorBodySchema },
      },
    },
    async (request) => {
      const q = request.query;
      const states = q.state?.flatMap((s): WorkOrderState[] => (s === 'active' ? ['open', 'assigned', 'in_progress', 'on_hold'] : [s]));
      return orders.list({
        sites: listedSites(request, q.site),
        ...(states?.length ? { states: [...new Set(states)] } : {}),
        ...(q.team?.length ? { teams: q.team } : {}),
        ...(q.category?.length ? { categories: q.category } : {}),
        ...(q.priority?.length ? { priorities: q.priority.map(Number) } : {}),
        ...(q.assignee !== undefined ? { assignee: q.assignee } : {}),
        ...(q.asset !== undefined ? { asset: q.asset } : {}),
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
    },
  );

  api.get(
    '/api/v1/work-order-teams',
    {
      schema: {
        summary: 'The teams orders go to (on the site asked for, or on every granted site), with their members',
        tags: ['work orders'],
        querystring: z.object({ site: idParam.optional() }),
        response: { 200: z.object({ teams: z.array(z.object({ id: z.string(), name: z.string(), sites: z.array(z.string()).nullable(), members: z.array(z.string()) })) }) },
      },
    },
    async (request) => {
      const sites = listedSites(request, request.query.site);
      const teams = orders.config.teams.filter((t) => t.sites === undefined || sites === '*' || t.sites.some((s) => sites.includes(s)));
      return { teams: teams.map((t) => ({ id: t.id, name: t.name, sites: t.sites ?? null, members: t.members })) };
    },
  );

  const clockFigures = {
    orders: z.number().int(),
    mttaMinutes: z.number().nullable().meta({ description: 'mean minutes from raised to started' }),
    mttrMinutes: z.number().nullable().meta({ description: 'mean minutes from raised to completed' }),
    responseCompliance: z.number().nullable().meta({ description: 'share started in time (0–1), of those started or already late' }),
    resolutionCompliance: z.number().nullable().meta({ description: 'share completed in time (0–1), of those completed or already late' }),
  };

  api.get(
    '/api/v1/work-order-figures',
    {
      schema: {
        summary: 'MTTA, MTTR and SLA compliance of the orders raised in a period (default the last 12 months), per month and category, per site, per team',
        tags: ['work orders'],
        querystring: z.object({ site: idParam.optional(), from: instantParam.optional(), to: instantParam.optional() }),
        response: {
          200: z.object({
            from: epochMs,
            to: epochMs,
            ...clockFigures,
            activeNow: z.number().int(),
            overdueNow: z.number().int(),
            byMonth: z.array(z.object({ month: z.string(), category: z.string(), orders: z.number().int() })),
            bySite: z.array(z.object({ site: z.string(), ...clockFigures })),
            byTeam: z.array(z.object({ team: z.string().nullable(), ...clockFigures })),
          }),
          400: errorBodySchema,
        },
      },
    },
    async (request) => {
      const zone = await zoneForTimes(deps.orders.database, request.query.site, [request.query.from, request.query.to]);
      const to = request.query.to?.at(zone) ?? Date.now();
      const from = request.query.from?.at(zone) ?? to - 365 * 86_400_000;
      if (from >= to) throw new ApiError('GH_BAD_TIME_RANGE');
      return orders.figures(listedSites(request, request.query.site), from, to);
    },
  );

  api.post(
    '/api/v1/work-orders',
    {
      schema: {
        summary: 'Raise a work order by hand (a resident’s or a patrol’s report, 报事报修); its due times follow the SLA of its priority and category',
        tags: ['work orders'],
        body: z
          .object({
            site: idParam,
            title: text(200, 'a title').min(1, 'expected a title'),
            category: z.enum(WORK_ORDER_CATEGORIES),
            priority: z.number().int().min(1).max(4),
            description: text(5000, 'a description').optional(),
            asset: idParam.optional(),
            building: idParam.optional(),
            floor: text(32, 'a floor').min(1).optional(),
            unit: text(32, 'a unit').min(1).optional(),
            device: idParam.optional(),
            team: idParam.optional(),
            assignee: z.string().min(1).max(64).optional(),
            requesterName: text(100, 'a name').min(1).optional(),
            requesterContact: text(100, 'a contact').min(1).optional(),
            checklist: z.array(text(200, 'a checklist item').min(1)).max(50).optional(),
            resolutionDueAt: epochMs.optional().meta({ description: 'sooner than the SLA; never in the past' }),
          })
          .strict(),
        response: { 201: workOrderSchema, 400: errorBodySchema, 403: errorBodySchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!canSeeSite(principalOf(request), body.site)) throw new ApiError('GH_SITE_FORBIDDEN', `site ${body.site} is not granted to you`);
      const order = await orders.create(withoutUndefined(body), principalOf(request).username);
      return reply.code(201).send(order);
    },
  );

  api.get(
    '/api/v1/work-orders/:id',
    {
      schema: {
        summary: 'One work order (by id or number, WO-000123) with its history, oldest first',
        tags: ['work orders'],
        params: orderParams,
        response: { 200: workOrderSchema.extend({ history: z.array(historySchema), photos: z.array(photoSchema) }), 404: errorBodySchema },
      },
    },
    async (request) => {
      const id = await requireOrder(request, request.params.id);
      const order = await orders.get(id);
      if (!order) throw new ApiError('GH_NOT_FOUND', `no work order ${request.params.id}`);
      return order;
    },
  );

  api.post(
    '/api/v1/work-orders/:id/actions',
    {
      schema: {
        summary: 'Move an order on: assign, start, hold (with a reason), resume, complete, close, cancel or reopen (with a note); refused with 409 where its state does not allow it',
        tags: ['work orders'],
        params: orderParams,
        body: z
          .object({
            action: z.enum(WORK_ORDER_ACTIONS),
            note: text(1000, 'a note').min(1).optional(),
            assignee: z.string().min(1).max(64).optional().meta({ description: 'assign: the username' }),
            team: idParam.optional().meta({ description: 'assign: moves the order to this team' }),
            reason: text(200, 'a reason').min(1).optional().meta({ description: 'hold: why (waiting for parts, for the resident, …)' }),
          })
          .strict(),
        response: { 200: workOrderSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const id = await requireOrder(request, request.params.id);
      const { action, ...input } = request.body;
      return orders.act(id, action, principalOf(request).username, withoutUndefined(input));
    },
  );

  api.post(
    '/api/v1/work-orders/:id/comments',
    {
      schema: {
        summary: 'Add a comment to an order’s history',
        tags: ['work orders'],
        params: orderParams,
        body: z.object({ text: text(2000, 'a comment').min(1, 'expected a comment') }).strict(),
        response: { 200: workOrderSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const id = await requireOrder(request, request.params.id);
      return orders.comment(id, principalOf(request).username, request.body.text);
    },
  );

  api.post(
    '/api/v1/work-orders/:id/rating',
    {
      schema: {
        summary: 'The requester’s satisfaction with a completed order (满意度, 1–5); 2 or less reopens it',
        tags: ['work orders'],
        params: orderParams,
        body: z.object({ rating: z.number().int().min(1).max(5), comment: text(1000, 'a comment').min(1).optional() }).strict(),
        response: { 200: workOrderSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const id = await requireOrder(request, request.params.id);
      return orders.rate(id, principalOf(request).username, request.body.rating, request.body.comment);
    },
  );

  api.post(
    '/api/v1/work-orders/:id/photos',
    {
      // Base64 of a photo of at most MAX_PHOTO_BYTES, and the rest of the body.
      bodyLimit: Math.ceil((MAX_PHOTO_BYTES * 4) / 3) + 64 * 1024,
      schema: {
        summary: 'Add a photo before or after the work: a JPEG, PNG or WebP (checked by its bytes) of at most 5 MiB, base64',
        tags: ['work orders'],
        params: orderParams,
        body: z
          .object({
            stage: z.enum(['before', 'after', 'other']),
            fileName: text(200, 'a file name').min(1, 'expected a file name'),
            dataBase64: z.string().min(1).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected the photo as base64'),
          })
          .strict(),
        response: { 201: photoSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const id = await requireOrder(request, request.params.id);
      const { stage, fileName, dataBase64 } = request.body;
      const photo = await orders.addPhoto(id, principalOf(request).username, { stage, fileName, data: Buffer.from(dataBase64, 'base64') });
      return reply.code(201).send(photo);
    },
  );

  api.get(
    '/api/v1/work-orders/:id/photos/:photo',
    {
      schema: {
        summary: 'A photo of an order, as the image it is (never as anything a browser would run)',
        tags: ['work orders'],
        params: orderParams.extend({ photo: z.string().regex(/^[1-9][0-9]{0,17}$/, 'expected a photo id') }),
        response: { 200: z.any().meta({ description: 'image/jpeg, image/png or image/webp' }), 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const id = await requireOrder(request, request.params.id);
      const photo = await orders.photo(id, request.params.photo);
      if (!photo) throw new ApiError('GH_NOT_FOUND', `work order ${request.params.id} has no photo ${request.params.photo}`);
      return reply
        .header('content-type', photo.contentType)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(photo.fileName)}`)
        .header('cache-control', 'private, max-age=86400')
        .send(photo.data);
    },
  );

  api.patch(
    '/api/v1/work-orders/:id',
    {
      schema: {
        summary: 'Tick checklist items, add some, record parts, labour and cost, or edit title, description and priority (not once closed or cancelled)',
        tags: ['work orders'],
        params: orderParams,
        body: z
          .object({
            title: text(200, 'a title').min(1).optional(),
            description: text(5000, 'a description').optional(),
            priority: z.number().int().min(1).max(4).optional(),
            checklistDone: z.array(z.object({ index: z.number().int().min(0), done: z.boolean() }).strict()).max(50).optional(),
            checklistAdd: z.array(text(200, 'a checklist item').min(1)).max(50).optional(),
            parts: z.array(z.object({ name: text(200, 'a part name').min(1), quantity: z.number().positive().max(100_000), costCny: z.number().min(0).max(10_000_000).nullable().default(null) }).strict()).max(100).optional(),
            labourMinutes: z.number().int().min(0).max(100_000).optional(),
            costCny: z.number().min(0).max(100_000_000).nullable().optional(),
          })
          .strict(),
        response: { 200: workOrderSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      const id = await requireOrder(request, request.params.id);
      return orders.update(id, principalOf(request).username, withoutUndefined(request.body));
    },
  );
}

/** The object without its undefined properties (the service's optional fields are exact). */
function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
