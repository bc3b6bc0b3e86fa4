import { z } from 'zod';
import { auditEntrySchema } from '../audit/audit-routes.js';
import { eventSchema } from '../api/event-routes.js';
import { errorBodySchema } from '../api/app.js';
import { ApiError } from '../api/errors.js';
import { epochMs, idParam, listParam, type Api } from '../api/route-types.js';
import { listedSites, mayDo, principalOf, requireRecordSite } from '../auth/request-principal.js';
import { ACK_TYPES, ALARM_STATES, ALARM_TYPES, type AlarmState } from './alarm-rules.js';
import type { AlarmService } from './alarm-service.js';

const nullableMs = epochMs.nullable();

export const alarmSchema = z.object({
  id: z.string(),
  site: z.string(),
  type: z.enum(ALARM_TYPES),
  priority: z.number().int().min(1).max(4).meta({ description: '1 critical, 2 high, 3 medium, 4 low' }),
  state: z.enum(ALARM_STATES),
  gateway: z.string().nullable(),
  device: z.string().nullable(),
  point: z.string().nullable().meta({ description: 'door or reader on a panel with several' }),
  detail: z.string().nullable(),
  occurrences: z.number().int().meta({ description: 'events (or health episodes) counted on this alarm' }),
  firstAt: epochMs,
  lastAt: epochMs,
  raisedAt: epochMs.meta({ description: 'when the current episode was raised: a cleared alarm that occurs again is raised anew' }),
  updatedAt: epochMs,
  conditionEndedAt: nullableMs.meta({ description: 'the door closed, the device or gateway is back: acknowledging then clears it' }),
  acknowledgedAt: nullableMs,
  acknowledgedBy: z.string().nullable(),
  ackType: z.enum(ACK_TYPES).nullable(),
  ackNote: z.string().nullable(),
  clearedAt: nullableMs,
  clearedBy: z.string().nullable().meta({ description: 'a username, or system when the condition ended' }),
  closedAt: nullableMs,
  closedBy: z.string().nullable(),
  escalationLevel: z.number().int(),
  eventId: z.string().nullable(),
  eventGateway: z.string().nullable(),
  snapshotUrls: z.array(z.string()).meta({ description: 'pictures of the event that raised or last repeated it' }),
});

const notificationSchema = z.object({
  id: z.string(),
  level: z.number().int(),
  channel: z.enum(['webhook', 'email']),
  target: z.string().meta({ description: 'e-mail address, or webhook url without its query string' }),
  status: z.enum(['pending', 'sent', 'failed', 'cancelled']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: epochMs,
  nextAttemptAt: epochMs,
  sentAt: nullableMs,
});


const alarmIdParams = z.object({ id: z.string().min(1).max(20) });
const note = z.string().trim().max(1000, 'expected a note of at most 1000 characters');
/** Clear and close take an optional note; the body itself may be left out. */
const optionalNoteBody = z.object({ note: note.optional() }).strict().nullish();

const STATE_FILTERS = [...ALARM_STATES, 'open'] as const;

/** The alarm queue: list, detail, and a guard's acknowledge → clear → close. */
export function registerAlarmRoutes(api: Api, deps: { alarms: AlarmService }): void {
  const { alarms } = deps;

  api.get(
    '/api/v1/alarms',
    {
      schema: {
        summary: 'Alarms of the granted sites, most urgent first (priority, then latest occurrence)',
        tags: ['alarms'],
        querystring: z.object({
          site: idParam.optional(),
          state: listParam(STATE_FILTERS, 'alarm states').optional().meta({ description: 'new, acknowledged, cleared, closed or open (all but closed); default open' }),
          priority: listParam(['1', '2', '3', '4'] as const, 'priorities').optional().meta({ description: '1 to 4, comma-separated' }),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.string().max(200).optional().meta({ description: 'nextCursor of the previous page' }),
        }),
        response: { 200: z.object({ alarms: z.array(alarmSchema), nextCursor: z.string().nullable() }), 400: errorBodySchema },
      },
    },
    async (request) => {
      const q = request.query;
      const states = q.state?.flatMap((s): AlarmState[] => (s === 'open' ? ['new', 'acknowledged', 'cleared'] : [s]));
      return alarms.list({
        sites: listedSites(request, q.site),
        ...(states && states.length > 0 ? { states: [...new Set(states)] } : {}),
        ...(q.priority ? { priorities: q.priority.map(Number) } : {}),
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
    },
  );

  api.get(
    '/api/v1/alarms/:id',
    {
      schema: {
        summary: 'One alarm with its history (audit lines, oldest first), escalation notifications and the last 20 events at its device or door',
        tags: ['alarms'],
        params: alarmIdParams,
        response: {
          200: alarmSchema.extend({ history: z.array(auditEntrySchema), notifications: z.array(notificationSchema), recentEvents: z.array(eventSchema) }),
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const alarm = await alarms.get(request.params.id);
      if (!alarm) throw new ApiError('GH_NOT_FOUND', `no alarm ${request.params.id}`);
      requireRecordSite(request, alarm.site, `alarm ${request.params.id}`);
      // Card reads and door events are for those who may read events (not engineers).
      return mayDo(request, 'events.read') ? alarm : { ...alarm, recentEvents: [] };
    },
  );

  /** Checks the caller may see the alarm's site (404 otherwise, as for an alarm that does not exist). */
  const requireAlarm = async (request: Parameters<typeof requireRecordSite>[0], id: string) => {
    const site = await alarms.siteOf(id);
    if (site === undefined) throw new ApiError('GH_NOT_FOUND', `no alarm ${id}`);
    requireRecordSite(request, site, `alarm ${id}`);
  };
  const transitionResponse = { 200: alarmSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

  api.post(
    '/api/v1/alarms/:id/acknowledge',
    {
      schema: {
        summary: 'Acknowledge a new alarm with a note; one whose condition has already ended goes straight on to cleared',
        tags: ['alarms'],
        params: alarmIdParams,
        body: z
          .object({
            note: note.min(1, 'expected a note saying what was done').meta({ description: 'what was seen or done, 1–1000 characters (stored as plain text)' }),
            ackType: z.enum(ACK_TYPES).meta({ description: 'genuine, false_alarm or test' }),
          })
          .strict(),
        response: transitionResponse,
      },
    },
    async (request) => {
      await requireAlarm(request, request.params.id);
      return alarms.acknowledge(request.params.id, principalOf(request).username, request.body.note, request.body.ackType);
    },
  );

  api.post(
    '/api/v1/alarms/:id/clear',
    {
      schema: {
        summary: 'Clear an acknowledged alarm (a new one must be acknowledged first)',
        tags: ['alarms'],
        params: alarmIdParams,
        body: optionalNoteBody,
        response: transitionResponse,
      },
    },
    async (request) => {
      await requireAlarm(request, request.params.id);
      return alarms.clear(request.params.id, principalOf(request).username, request.body?.note);
    },
  );

  api.post(
    '/api/v1/alarms/:id/close',
    {
      schema: {
        summary: 'Close an acknowledged or cleared alarm; the next occurrence of its source raises a new one',
        tags: ['alarms'],
        params: alarmIdParams,
        body: optionalNoteBody,
        response: transitionResponse,
      },
    },
    async (request) => {
      await requireAlarm(request, request.params.id);
      return alarms.close(request.params.id, principalOf(request).username, request.body?.note);
    },
  );
}
