import { COMMAND_NAMES, MAX_COMMAND_LIFETIME_MS } from '@gatehouse/contracts';
import { epochMs, idParam, type Api } from './route-types.js';
import { z } from 'zod';
import type { ApiDependencies } from './app.js';
import { errorBodySchema } from './app.js';
import { ApiError, type ApiErrorCode } from './errors.js';
import { principalOf, requireRecordSite } from '../auth/request-principal.js';

const storedCommandSchema = z.object({
  id: z.string(),
  site: z.string(),
  gateway: z.string(),
  name: z.string(),
  device: z.string().nullable(),
  args: z.record(z.string(), z.unknown()),
  issuedBy: z.string(),
  issuedAt: epochMs,
  expiresAt: epochMs,
  status: z.enum(['sent', 'unanswered', 'ok', 'failed', 'rejected', 'expired', 'duplicate']).meta({ description: 'sent: no result from the gateway yet; unanswered: expired without a result' }),
  detail: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  resultAt: epochMs.nullable(),
});

/** How each way of not carrying a command out is answered. */
const REFUSALS: Partial<Record<string, { code: ApiErrorCode; says: string }>> = {
  rejected: { code: 'GH_COMMAND_REFUSED', says: 'the gateway refused the command' },
  failed: { code: 'GH_GATEWAY_FAILED', says: 'the command failed' },
  expired: { code: 'GH_TIMEOUT', says: 'the command reached the gateway after its TTL and was not carried out' },
  duplicate: { code: 'GH_CONFLICT', says: 'the gateway had already taken this command' },
};

/** Door commands (a guard opening a door remotely) and the audit log of every command sent. */
export function registerCommandRoutes(api: Api, deps: ApiDependencies): void {
  // A command the gateway answered without carrying it out: the error, and the command's record.
  const refusedCommandSchema = errorBodySchema.extend({ command: storedCommandSchema });
  api.post(
    '/api/v1/sites/:site/doors/:device/commands',
    {
      schema: {
        summary: 'Open or lock a door remotely as the logged-in user (recorded in the audit log); answers with the gateway\'s result, or 202 while it is still on its way',
        tags: ['commands'],
        params: z.object({ site: idParam, device: idParam }),
        body: z
          .object({
            action: z.enum(['open', 'close']),
            door: z.string().min(1).max(16).optional().meta({ description: "'1', '2', … on a panel; absent: the device's only door" }),
            durationMs: z.number().int().min(1000).max(600_000).optional().meta({ description: 'open: how long the strike stays released (default: the door\'s own unlock time)' }),
            ttlSeconds: z.number().int().min(1).max(MAX_COMMAND_LIFETIME_MS / 1000).default(30).meta({ description: 'the gateway refuses the command after this long' }),
            waitMs: z.number().int().min(0).max(10_000).default(5000).meta({ description: 'how long to wait for the result before answering 202' }),
          })
          .strict(),
        description:
          'A command the gateway did not carry out answers with an error and the command record: 422 refused (an unknown door, arguments the device cannot take), ' +
          '502 failed at the gateway or the device, 504 reached the gateway after its TTL, 409 a repeat of one already taken.',
        response: {
          200: storedCommandSchema,
          202: storedCommandSchema,
          404: errorBodySchema,
          409: refusedCommandSchema,
          422: refusedCommandSchema,
          502: refusedCommandSchema,
          504: refusedCommandSchema,
        },
      },
    },
    async (request, reply) => {
      const { site, device } = request.params;
      const body = request.body;
      const issuedBy = principalOf(request).username;
      const rows = await deps.db.query<{ gateway: string; kind: string }>('SELECT gateway, kind FROM devices WHERE site = $1 AND id = $2', [site, device]);
      const found = rows[0];
      if (!found) throw new ApiError('GH_NOT_FOUND', `no device ${device} at site ${site}`);
      if (found.kind !== 'access_panel') throw new ApiError('GH_BAD_REQUEST', `device ${device} is a ${found.kind}, not a door`);
      const issued = await deps.commands.issue({
        site,
        gateway: found.gateway,
        name: COMMAND_NAMES.door,
        device,
        args: { device, action: body.action, ...(body.door !== undefined ? { door: body.door } : {}), ...(body.durationMs !== undefined ? { durationMs: body.durationMs } : {}) },
        issuedBy,
        lifetimeMs: body.ttlSeconds * 1000,
        audit: {
          site,
          action: `door.${body.action}`,
          targetType: 'door',
          targetId: body.door !== undefined ? `${device}/${body.door}` : device,
          details: { gateway: found.gateway, ...(body.durationMs !== undefined ? { durationMs: body.durationMs } : {}) },
        },
      });
      const outcome = (await deps.commands.waitForResult(issued.id, body.waitMs)) ?? issued;
      const refusal = REFUSALS[outcome.status];
      if (refusal) throw new ApiError(refusal.code, `${refusal.says} (gateway ${found.gateway}, command ${outcome.id})${outcome.detail ? `: ${outcome.detail}` : ''}`, { command: outcome });
      return reply.status(outcome.status === 'sent' ? 202 : 200).send(outcome);
    },
  );

  api.get(
    '/api/v1/sites/:site/commands',
    {
      schema: {
        summary: 'The audit log of commands sent to the site\'s gateways, newest first: who asked what, when, and what came of it',
        tags: ['commands'],
        params: z.object({ site: idParam }),
        querystring: z.object({ device: idParam.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: { 200: z.object({ commands: z.array(storedCommandSchema) }) },
      },
    },
    async (request) => ({ commands: await deps.commands.list(request.params.site, request.query.limit, request.query.device) }),
  );

  api.get(
    '/api/v1/commands/:id',
    {
      schema: {
        summary: 'One command and its result',
        tags: ['commands'],
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: storedCommandSchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const command = await deps.commands.get(request.params.id);
      if (!command) throw new ApiError('GH_NOT_FOUND', `no command ${request.params.id}`);
      requireRecordSite(request, command.site, `command ${request.params.id}`);
      return command;
    },
  );
}
