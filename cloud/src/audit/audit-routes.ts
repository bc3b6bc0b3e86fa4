import { z } from 'zod';
import { listedSites } from '../auth/request-principal.js';
import { epochMs, idParam, type Api } from '../api/route-types.js';
import { instantParam, zoneForTimes } from '../api/time-params.js';
import type { SqlClient } from '../storage/sql-client.js';
import { auditLog } from './audit-log.js';

export const auditEntrySchema = z.object({
  id: z.number(),
  at: epochMs,
  actor: z.string(),
  site: z.string().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  fromState: z.string().nullable(),
  toState: z.string().nullable(),
  note: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});

/** The audit log, read-only: no route changes or removes a line. */
export function registerAuditRoutes(api: Api, deps: { db: SqlClient }): void {
  api.get(
    '/api/v1/audit',
    {
      schema: {
        summary: 'The audit log, newest first: alarm transitions, door commands, logins and account changes (lines without a site only for users of every site)',
        tags: ['audit'],
        querystring: z.object({
          site: idParam.optional(),
          targetType: z.string().max(32).optional(),
          targetId: z.string().max(128).optional(),
          actor: z.string().max(64).optional(),
          action: z.string().max(64).optional(),
          from: instantParam.optional(),
          to: instantParam.optional(),
          before: z.coerce.number().int().min(1).optional().meta({ description: 'entries older than this id (nextBefore of the previous page)' }),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: z.object({ entries: z.array(auditEntrySchema), nextBefore: z.number().nullable() }) },
      },
    },
    async (request) => {
      const { site, limit, from, to, ...filters } = request.query;
      const zone = await zoneForTimes(deps.db, site, [from, to]);
      const times = { ...(from ? { from: from.at(zone) } : {}), ...(to ? { to: to.at(zone) } : {}) };
      const entries = await auditLog.list(deps.db, { ...filters, ...times, sites: listedSites(request, site), limit: limit + 1 });
      const more = entries.length > limit;
      const page = more ? entries.slice(0, limit) : entries;
      return { entries: page, nextBefore: more ? page[page.length - 1]!.id : null };
    },
  );
}
