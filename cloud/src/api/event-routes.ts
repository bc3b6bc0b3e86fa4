import { EVENT_TYPES } from '@gatehouse/contracts';
import { DateTime } from 'luxon';
import { z } from 'zod';
import type { ApiDependencies } from './app.js';
import { errorBodySchema } from './app.js';
import { ApiError } from './errors.js';
import { epochMs, idParam, type Api } from './route-types.js';
import { instantParam, type TimeParam } from './time-params.js';
import { attachmentUrls, type EventKey, type EventSearch, type StoredEvent } from '../storage/event-store.js';
import type { SqlExecutor } from '../storage/sql-client.js';

export type EventRouteDependencies = Pick<ApiDependencies, 'db' | 'events'>;

/** Rows one CSV export holds at most; the rest is announced (x-truncated) and left to a narrower export. */
export const MAX_CSV_ROWS = 50_000;
/** Events read from the database at a time while an export is built. */
const CSV_PAGE = 5000;

export const eventSchema = z.object({
  site: z.string(),
  gateway: z.string(),
  id: z.string(),
  device: z.string(),
  type: z.string(),
  ts: epochMs,
  point: z.string().nullable(),
  credential: z.string().nullable().meta({ description: 'masked: the last 4 digits of the card' }),
  reason: z.string().nullable(),
  attachments: z.number(),
  attachmentUrls: z.array(z.string()).meta({ description: 'where each attached picture is served' }),
});

export type ApiEvent = z.infer<typeof eventSchema>;

/** An event as the API shows it: its pictures as URLs. */
export function apiEvent(e: StoredEvent): ApiEvent {
  return { ...e, attachmentUrls: attachmentUrls(e.site, e.gateway, e.id, e.attachments) };
}

/** `type=door_forced_open,duress` or `type=door_forced_open&type=duress`; each checked against the event types. */
const typesParam = z
  .union([z.string(), z.array(z.string())])
  .transform((value, ctx) => {
    const types = [...new Set((Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t !== ''))];
    const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `unknown event type ${unknown.map((t) => `"${t}"`).join(', ')}; expected any of ${EVENT_TYPES.join(', ')}` });
      return z.NEVER;
    }
    return types;
  })
  .meta({ description: 'event types, as a comma list or repeated', example: 'door_forced_open,door_held_open' });

const filters = {
  site: idParam,
  device: idParam.optional(),
  type: typesParam.optional(),
  from: instantParam.optional().meta({ description: 'events at or after this time (ISO 8601 or epoch ms)' }),
  to: instantParam.optional().meta({ description: 'events before this time (ISO 8601 or epoch ms)' }),
  card: z
    .string()
    .regex(/^[0-9A-Fa-f]{1,4}$/, 'expected the last digits of a card (up to 4 digits)')
    .optional()
    .meta({ description: 'the last digits of a card: events whose masked credential ends with them', example: '5640' }),
  cursor: z.string().min(1).max(512).optional().meta({ description: 'nextCursor of the previous page' }),
};

/** The cursor is opaque to clients: the keyset of the last event of a page, base64url JSON. */
export function encodeCursor(key: EventKey): string {
  return Buffer.from(JSON.stringify([key.tsUs, key.gateway, key.id])).toString('base64url');
}

export function decodeCursor(cursor: string): EventKey {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3) {
      const [tsUs, gateway, id] = value as unknown[];
      if (typeof tsUs === 'string' && /^-?\d{1,17}$/.test(tsUs) && typeof gateway === 'string' && gateway.length <= 64 && typeof id === 'string' && id.length <= 64) {
        return { tsUs, gateway, id };
      }
    }
  } catch {
    // answered below
  }
  throw new ApiError('GH_BAD_REQUEST', 'querystring.cursor: not a cursor this API gave; start again without it');
}

/** The site's time zone; an unknown site is refused by name. */
async function siteTimeZone(db: SqlExecutor, site: string): Promise<string> {
  const rows = await db.query<{ timeZone: string }>('SELECT time_zone AS "timeZone" FROM sites WHERE id = $1', [site]);
  if (!rows[0]) throw new ApiError('GH_NOT_FOUND', `no site ${site}`);
  return rows[0].timeZone;
}

function searchOf(query: { site: string; device?: string; type?: string[]; from?: TimeParam; to?: TimeParam; card?: string; cursor?: string }, timeZone: string, limit: number): EventSearch {
  const q = { ...query, from: query.from?.at(timeZone), to: query.to?.at(timeZone) };
  if (q.from !== undefined && q.to !== undefined && q.from >= q.to) {
    throw new ApiError('GH_BAD_TIME_RANGE', `"from" (${new Date(q.from).toISOString()}) must be before "to" (${new Date(q.to).toISOString()})`);
  }
  return {
    site: q.site,
    limit,
    ...(q.device !== undefined ? { device: q.device } : {}),
    ...(q.type !== undefined && q.type.length > 0 ? { types: q.type } : {}),
    ...(q.from !== undefined ? { from: q.from } : {}),
    ...(q.to !== undefined ? { to: q.to } : {}),
    ...(q.card !== undefined ? { card: q.card } : {}),
    ...(q.cursor !== undefined ? { after: decodeCursor(q.cursor) } : {}),
  };
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A cell that a
 * spreadsheet would take for a formula (= + - @, or a tab or carriage return before one) gets a
 * leading apostrophe, so that an event's text can never run as a formula in Excel.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const CSV_COLUMNS = ['time', 'site', 'gateway', 'device', 'point', 'type', 'credential', 'reason', 'attachments', 'id'] as const;

/** An event's time in ISO 8601 in the site's time zone, e.g. 2026-11-26T10:00:00.000+08:00. */
export function localIso(ts: number, timeZone: string): string {
  return DateTime.fromMillis(ts, { zone: timeZone }).toISO({ includeOffset: true }) ?? new Date(ts).toISOString();
}

export function csvRow(e: StoredEvent, timeZone: string): string {
  return [localIso(e.ts, timeZone), e.site, e.gateway, e.device, e.point, e.type, e.credential, e.reason, e.attachments, e.id].map(csvCell).join(',');
}

/** Device events: the search behind the event log and alarms' history, and its CSV export. */
export function registerEventRoutes(api: Api, deps: EventRouteDependencies): void {
  api.get(
    '/api/v1/events',
    {
      schema: {
        summary: 'Events of a site, newest first, filtered by device, type, time, card; one page at a time',
        description:
          'Pages follow each other with `cursor` (the previous page\'s `nextCursor`): newest first by time, then gateway and event id, ' +
          'so events stored meanwhile never shift a page. `truncated` says more events match than this page holds.',
        tags: ['events'],
        querystring: z.object({ ...filters, limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: {
          200: z.object({ events: z.array(eventSchema), nextCursor: z.string().nullable(), truncated: z.boolean() }),
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const timeZone = await siteTimeZone(deps.db, q.site);
      const page = await deps.events.search(searchOf(q, timeZone, q.limit));
      return { events: page.events.map(apiEvent), nextCursor: page.next ? encodeCursor(page.next) : null, truncated: page.next !== null };
    },
  );

  api.get(
    '/api/v1/events.csv',
    {
      schema: {
        summary: 'The same events as a CSV file, for Excel: UTF-8 with a byte order mark, times in the site\'s time zone',
        description:
          `At most ${MAX_CSV_ROWS} events (\`limit\`), newest first; \`x-truncated: true\` says more matched. Cells that a spreadsheet would read as a formula start with an apostrophe.`,
        tags: ['events'],
        querystring: z.object({ ...filters, limit: z.coerce.number().int().min(1).max(MAX_CSV_ROWS).default(MAX_CSV_ROWS) }),
        response: { 200: z.string().meta({ description: 'text/csv; charset=utf-8' }), 400: errorBodySchema, 404: errorBodySchema },
      },
      // The file is written here, not serialised from a schema.
      serializerCompiler: () => (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)),
    },
    async (request, reply) => {
      const q = request.query;
      const timeZone = await siteTimeZone(deps.db, q.site);
      const search = searchOf(q, timeZone, Math.min(CSV_PAGE, q.limit));
      // The byte order mark makes Excel (a Chinese one too) read the file as UTF-8.
      const lines: string[] = [`\uFEFF${CSV_COLUMNS.join(',')}`];
      let rows = 0;
      let truncated = false;
      for (;;) {
        const page = await deps.events.search({ ...search, limit: Math.min(CSV_PAGE, q.limit - rows) });
        for (const e of page.events) lines.push(csvRow(e, timeZone));
        rows += page.events.length;
        if (!page.next) break;
        if (rows >= q.limit) {
          truncated = true;
          break;
        }
        search.after = page.next;
      }
      const stamp = DateTime.now().setZone(timeZone).toFormat('yyyyLLdd-HHmm');
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="events-${q.site}-${stamp}.csv"`)
        .header('x-truncated', String(truncated))
        .header('x-rows', String(rows))
        .header('cache-control', 'no-store')
        .send(`${lines.join('\r\n')}\r\n`);
    },
  );

  api.get(
    '/api/v1/sites/:site/events/:gateway/:event/attachments/:index',
    {
      schema: {
        summary: 'A picture attached to an event (a camera snapshot taken when a door was forced, held open, or a duress code used)',
        tags: ['events'],
        params: z.object({ site: idParam, gateway: idParam, event: z.string().min(1).max(64), index: z.coerce.number().int().min(0).max(7) }),
        response: { 200: z.any().meta({ description: 'the image (image/jpeg or image/png)' }), 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { site, gateway, event, index } = request.params;
      const picture = await deps.events.attachment(site, gateway, event, index);
      if (!picture) throw new ApiError('GH_NOT_FOUND', `event ${event} of gateway ${gateway} at site ${site} has no attachment ${index}`);
      return reply
        .header('content-type', picture.contentType)
        .header('x-camera', picture.camera)
        .header('x-taken-at', new Date(picture.ts).toISOString())
        .header('cache-control', 'private, max-age=86400')
        .send(picture.data);
    },
  );
}
