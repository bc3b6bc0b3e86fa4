import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { PERMISSIONS } from '../auth/access-policy.js';
import { listedSites, principalOf } from '../auth/request-principal.js';
import { canSeeSite, type Principal } from '../auth/roles.js';
import { idParam, type Api } from '../api/route-types.js';
import type { LiveHub } from './live-hub.js';
import type { LiveItem } from './live-feed.js';

export interface LiveRouteDependencies {
  hub: LiveHub;
  /** the request's session or token as it stands now (undefined: ended), checked now and then on a long stream */
  currentPrincipal: (request: FastifyRequest) => Promise<Principal | undefined>;
  heartbeatMs?: number;
}

const grantOf = (p: Principal) => JSON.stringify([[...p.roles].sort(), p.sites === '*' ? '*' : [...p.sites].sort()]);

const mayRead = (principal: Principal, kind: LiveItem['kind']) => {
  const allowed = (kind === 'alarm' ? PERMISSIONS['alarms.read'] : PERMISSIONS['events.read']) as readonly string[];
  return principal.roles.some((r) => allowed.includes(r));
};

/** Server-Sent Events: new and changed alarms and new events of the caller's sites, resumable with Last-Event-ID. */
export function registerLiveRoutes(api: Api, deps: LiveRouteDependencies): void {
  api.get(
    '/api/v1/live',
    {
      schema: {
        summary: 'Live push (Server-Sent Events): `event: alarm` (an alarm as GET /api/v1/alarms/{id} has it) and `event: event` (a device event); each message has an id, and a reconnect with Last-Event-ID resumes after it',
        tags: ['live'],
        querystring: z.object({ site: idParam.optional(), lastEventId: z.coerce.number().int().min(0).optional().meta({ description: 'for clients that cannot set the Last-Event-ID header' }) }),
        headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,18}$/, 'expected the number of the last message received').optional() }).passthrough(),
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const sites = listedSites(request, request.query.site);
      const header = request.headers['last-event-id'];
      let cursor = typeof header === 'string' ? Number(header) : (request.query.lastEventId ?? deps.hub.head);
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // Tell the browser how soon to come back, and where the stream starts (for a first connect).
      out.write(`retry: 2000\nid: ${cursor}\n\n`);
      let open = true;
      request.raw.on('close', () => {
        open = false;
      });
      const heartbeatMs = deps.heartbeatMs ?? 15_000;
      let lastWrite = Date.now();
      let lastAuthCheck = Date.now();
      while (open && !deps.hub.stopped) {
        const items = await deps.hub.after(cursor);
        const chunks: string[] = [];
        for (const item of items) {
          cursor = item.seq;
          const visible = sites === '*' ? canSeeSite(principal, item.site) : sites.includes(item.site);
          if (!visible || !mayRead(principal, item.kind)) continue;
          chunks.push(`id: ${item.seq}\nevent: ${item.kind}\ndata: ${JSON.stringify(item.payload)}\n\n`);
        }
        if (chunks.length > 0) {
          out.write(chunks.join(''));
          lastWrite = Date.now();
        } else if (items.length > 0) {
          // Nothing for this console, but its position moved: a reconnect need not read it again.
          out.write(`id: ${cursor}\n\n`);
        }
        if (items.length > 0) continue;
        if (Date.now() - lastWrite >= heartbeatMs) {
          out.write(': heartbeat\n\n');
          lastWrite = Date.now();
        }
        if (Date.now() - lastAuthCheck >= 15_000) {
          lastAuthCheck = Date.now();
          // A session that ended, or roles or sites changed meanwhile: the stream ends, and the
          // console's reconnect is judged afresh.
          const now = await deps.currentPrincipal(request);
          if (!now || grantOf(now) !== grantOf(principal)) break;
        }
        await deps.hub.waitForMore(Math.min(heartbeatMs, 5000));
      }
      out.end();
    },
  );
}
