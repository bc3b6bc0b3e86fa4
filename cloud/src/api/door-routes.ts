import { COMMAND_NAMES } from '@gatehouse/contracts';
import { z } from 'zod';
import { mayDo, principalOf } from '../auth/request-principal.js';
import { CameraSnapshotStore } from '../storage/camera-snapshots.js';
import type { SqlExecutor } from '../storage/sql-client.js';
import type { ApiDependencies } from './app.js';
import { errorBodySchema } from './app.js';
import { ApiError } from './errors.js';
import { apiEvent, eventSchema } from './event-routes.js';
import { epochMs, idParam, type Api } from './route-types.js';
import type { StoredEvent } from '../storage/event-store.js';

export interface DoorRouteDependencies extends Pick<ApiDependencies, 'db' | 'commands'> {
  /** how long POST …/snapshot waits for the gateway's picture; default 8 s */
  snapshotWaitMs?: number;
}

const DEFAULT_SNAPSHOT_WAIT_MS = 8000;
/** A picture asked for is of no use much later: the gateway refuses the command after this. */
const SNAPSHOT_COMMAND_LIFETIME_MS = 15_000;
/** The doors of a panel are the points seen in this many of its latest events. */
const POINTS_FROM_EVENTS = 10_000;

const DOOR_OPEN_TYPES = ['door_opened', 'door_forced_open', 'door_held_open'];
const DOOR_STATE_TYPES = [...DOOR_OPEN_TYPES, 'door_closed'];

const doorSchema = z.object({
  device: z.string(),
  point: z.string().nullable().meta({ description: "the door on a panel ('1', '2' …, 'door' on a single-door reader); null: not known yet" }),
  name: z.string().nullable(),
  driver: z.string().nullable(),
  online: z.boolean().nullable().meta({ description: "the device's last device_online / device_offline event (false while its gateway is offline; true behind an online gateway when never reported offline); null: its gateway's state is unknown" }),
  doorState: z.enum(['open', 'closed', 'unknown']).meta({ description: 'from the last door_opened / door_forced_open / door_held_open / door_closed event' }),
  lastEvent: eventSchema.nullable(),
  cameras: z.array(z.string()).meta({ description: "cameras whose pictures were attached to this door's events" }),
});

const cameraSchema = z.object({
  device: z.string(),
  name: z.string().nullable(),
  online: z.boolean().nullable(),
  lastSnapshotAt: epochMs.nullable().meta({ description: 'its latest picture, taken on request or for an event' }),
});

type Door = z.infer<typeof doorSchema>;
type Camera = z.infer<typeof cameraSchema>;

interface DeviceRow {
  device: string;
  gateway: string;
  kind: string;
  driver: string | null;
  name: string | null;
  gatewayStatus: string | null;
  presence: string | null;
}

/** The camera a request names: 404 when the site has no such device, 400 when it is no camera. */
async function cameraOf(db: SqlExecutor, site: string, device: string): Promise<{ gateway: string }> {
  const rows = await db.query<{ gateway: string; kind: string }>('SELECT gateway, kind FROM devices WHERE site = $1 AND id = $2', [site, device]);
  const found = rows[0];
  if (!found) {
    const sites = await db.query('SELECT 1 FROM sites WHERE id = $1', [site]);
    throw new ApiError('GH_NOT_FOUND', sites.length === 0 ? `no site ${site}` : `no device ${device} at site ${site}`);
  }
  if (found.kind !== 'camera') throw new ApiError('GH_BAD_REQUEST', `device ${device} is not a camera (${found.kind})`);
  return found;
}

function snapshotUrl(site: string, device: string, snapshotId?: number): string {
  const base = `/api/v1/sites/${encodeURIComponent(site)}/cameras/${encodeURIComponent(device)}/snapshot`;
  return snapshotId === undefined ? base : `${base}?id=${snapshotId}`;
}

function onlineOf(row: DeviceRow): boolean | null {
  // A device behind a gateway that is gone cannot be reached, whatever it said last.
  if (row.gatewayStatus === 'offline') return false;
  if (row.presence === 'device_online') return true;
  if (row.presence === 'device_offline') return false;
  // Gateways report a device when it goes offline and comes back: one never reported offline, behind
  // a gateway that is online, is taken as online.
  return row.gatewayStatus === 'online' ? true : null;
}

/**
 * The doors of a site with their state, and its cameras. A door is an access device, or each door
 * of a panel seen in its events. Which cameras watch which door is configured at the gateway; the
 * cloud knows it from the pictures attached to the door's events.
 */
export async function doorsOverview(db: SqlExecutor, snapshots: CameraSnapshotStore, site: string): Promise<{ doors: Door[]; cameras: Camera[] }> {
  const sites = await db.query('SELECT 1 FROM sites WHERE id = $1', [site]);
  if (sites.length === 0) throw new ApiError('GH_NOT_FOUND', `no site ${site}`);
  const devices = await db.query<DeviceRow>(
    `SELECT d.id AS device, d.gateway, d.kind, d.driver, d.name, g.status AS "gatewayStatus",
            (SELECT e.type FROM events e WHERE e.site = d.site AND e.device = d.id AND e.type IN ('device_offline', 'device_online')
              ORDER BY e.ts DESC LIMIT 1) AS presence
       FROM devices d LEFT JOIN gateways g ON g.site = d.site AND g.id = d.gateway
      WHERE d.site = $1 AND d.kind IN ('access_panel', 'camera') ORDER BY d.id`,
    [site],
  );
  const panels = devices.filter((d) => d.kind === 'access_panel');
  const points = await db.query<{ device: string; point: string }>(
    `SELECT d.id AS device, p.point FROM devices d
       CROSS JOIN LATERAL (
         SELECT DISTINCT r.point FROM (SELECT e.point FROM events e WHERE e.site = d.site AND e.device = d.id ORDER BY e.ts DESC LIMIT ${POINTS_FROM_EVENTS}) r
          WHERE r.point IS NOT NULL
       ) p
      WHERE d.site = $1 AND d.kind = 'access_panel' ORDER BY d.id, p.point`,
    [site],
  );
  const doorRows = panels.flatMap((device): { device: DeviceRow; point: string | null }[] => {
    const seen = points.filter((p) => p.device === device.device).map((p) => p.point);
    return seen.length > 0 ? seen.map((point) => ({ device, point })) : [{ device, point: null }];
  });
  const states = await db.query<StoredEvent & { point: string | null; row: number; doorEvent: string | null; eventId: string | null }>(
    `SELECT r.n AS row,
            (SELECT e.type FROM events e WHERE e.site = $1 AND e.device = r.device AND (r.point IS NULL OR e.point = r.point)
                AND e.type = ANY($4::text[]) ORDER BY e.ts DESC LIMIT 1) AS "doorEvent",
            l.site, l.gateway, l.id AS "eventId", l.device, l.type, l.ts, l.point, l.credential, l.reason, l.attachments
       FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r (device, point, n)
       LEFT JOIN LATERAL (
         SELECT e.site, e.gateway, e.id, e.device, e.type, (extract(epoch from e.ts) * 1000)::float8 AS ts, e.point, e.credential, e.reason,
                (SELECT count(*)::int FROM event_attachments a WHERE a.site = e.site AND a.gateway = e.gateway AND a.event_id = e.id) AS attachments
           FROM events e WHERE e.site = $1 AND e.device = r.device AND (r.point IS NULL OR e.point = r.point OR e.point IS NULL)
          ORDER BY e.ts DESC LIMIT 1
       ) l ON true`,
    [site, doorRows.map((r) => r.device.device), doorRows.map((r) => r.point), DOOR_STATE_TYPES],
  );
  const links = await db.query<{ device: string; point: string | null; camera: string }>(
    `SELECT DISTINCT e.device, e.point, a.camera FROM event_attachments a
       JOIN events e ON e.site = a.site AND e.gateway = a.gateway AND e.id = a.event_id
      WHERE a.site = $1`,
    [site],
  );
  const doors = doorRows.map(({ device, point }, i): Door => {
    const state = states.find((s) => Number(s.row) === i + 1);
    const lastEvent = state?.eventId
      ? apiEvent({ site: state.site, gateway: state.gateway, id: state.eventId, device: state.device, type: state.type, ts: state.ts, point: state.point, credential: state.credential, reason: state.reason, attachments: state.attachments })
      : null;
    const cameras = [...new Set(links.filter((l) => l.device === device.device && (point === null || l.point === point || l.point === null)).map((l) => l.camera))].sort();
    return {
      device: device.device,
      point,
      name: device.name,
      driver: device.driver,
      online: onlineOf(device),
      doorState: !state?.doorEvent ? 'unknown' : DOOR_OPEN_TYPES.includes(state.doorEvent) ? 'open' : 'closed',
      lastEvent,
      cameras,
    };
  });
  const lastTaken = await snapshots.lastTakenAt(site);
  const cameras = devices
    .filter((d) => d.kind === 'camera')
    .map((d): Camera => ({ device: d.device, name: d.name, online: onlineOf(d), lastSnapshotAt: lastTaken.get(d.device) ?? null }));
  return { doors, cameras };
}

/** The doors overview of the guard console, and camera pictures on demand. */
export function registerDoorRoutes(api: Api, deps: DoorRouteDependencies): void {
  const snapshots = new CameraSnapshotStore(deps.db);
  const waitMs = deps.snapshotWaitMs ?? DEFAULT_SNAPSHOT_WAIT_MS;

  api.get(
    '/api/v1/sites/:site/doors',
    {
      schema: {
        summary: 'The doors of a site (open, closed, online, last event, the cameras that watch them) and its cameras',
        tags: ['doors'],
        params: z.object({ site: idParam }),
        response: { 200: z.object({ doors: z.array(doorSchema), cameras: z.array(cameraSchema) }), 404: errorBodySchema },
      },
    },
    async (request) => {
      const overview = await doorsOverview(deps.db, snapshots, request.params.site);
      // The last event at a door (a card read) is for those who may read events.
      return mayDo(request, 'events.read') ? overview : { ...overview, doors: overview.doors.map((d) => ({ ...d, lastEvent: null })) };
    },
  );

  api.post(
    '/api/v1/sites/:site/cameras/:device/snapshot',
    {
      schema: {
        summary: 'Ask a camera for a picture now, through its gateway; answers where the picture is served',
        description:
          `Waits ${waitMs / 1000} s at most for the gateway: 502 when it could not take the picture (its reason in the message), 504 when no answer came in time ` +
          '(a picture that comes later is kept all the same, and is the camera\'s latest).',
        tags: ['doors'],
        params: z.object({ site: idParam, device: idParam }),
        response: {
          200: z.object({ url: z.string(), takenAt: epochMs, snapshotId: z.number() }),
          400: errorBodySchema,
          404: errorBodySchema,
          502: errorBodySchema,
          504: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { site, device } = request.params;
      const issuedBy = principalOf(request).username;
      const { gateway } = await cameraOf(deps.db, site, device);
      const issued = await deps.commands.issue({ site, gateway, name: COMMAND_NAMES.snapshot, device, args: { device }, issuedBy, lifetimeMs: SNAPSHOT_COMMAND_LIFETIME_MS, audit: { site, action: 'camera.snapshot', targetType: 'camera', targetId: device, details: { gateway } } });
      const outcome = (await deps.commands.waitForResult(issued.id, waitMs)) ?? issued;
      if (outcome.status === 'sent' || outcome.status === 'unanswered') {
        throw new ApiError('GH_TIMEOUT', `no picture from camera ${device}: gateway ${gateway} did not answer within ${waitMs / 1000} s (command ${issued.id})`);
      }
      const summary = outcome.result as { snapshotId?: unknown; ts?: unknown } | null;
      if (outcome.status !== 'ok' || typeof summary?.snapshotId !== 'number' || typeof summary.ts !== 'number') {
        throw new ApiError('GH_GATEWAY_FAILED', `no picture from camera ${device}: ${outcome.status}${outcome.detail ? `: ${outcome.detail}` : ''} (command ${issued.id})`);
      }
      return { url: snapshotUrl(site, device, summary.snapshotId), takenAt: summary.ts, snapshotId: summary.snapshotId };
    },
  );

  api.get(
    '/api/v1/sites/:site/cameras/:device/snapshot',
    {
      schema: {
        summary: "A camera's latest picture (taken on request or attached to an event, whichever is newer), or one taken on request (?id=)",
        tags: ['doors'],
        params: z.object({ site: idParam, device: idParam }),
        querystring: z.object({ id: z.coerce.number().int().min(1).optional().meta({ description: 'snapshotId from POST …/snapshot' }) }),
        response: { 200: z.any().meta({ description: 'the image (image/jpeg or image/png), taken at x-taken-at' }), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { site, device } = request.params;
      const { id } = request.query;
      await cameraOf(deps.db, site, device);
      const picture = id === undefined ? await snapshots.latest(site, device) : await snapshots.get(site, device, id);
      if (!picture) throw new ApiError('GH_NOT_FOUND', id === undefined ? `camera ${device} at site ${site} has no picture yet` : `camera ${device} at site ${site} has no snapshot ${id}`);
      return reply
        .header('content-type', picture.contentType)
        .header('x-camera', picture.camera)
        .header('x-taken-at', new Date(picture.takenAt).toISOString())
        .header('x-snapshot-source', picture.source)
        // The latest changes with every picture; one snapshot never does.
        .header('cache-control', id === undefined ? 'no-store' : 'private, max-age=86400')
        .send(picture.data);
    },
  );
}
