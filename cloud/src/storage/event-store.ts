import type { DeviceEvent, GatewayAddress } from '@gatehouse/contracts';
import { appendToLiveFeed } from '../live/live-feed.js';
import type { SqlClient, SqlExecutor } from './sql-client.js';

/**
 * Called in the transaction that stores events, with the ones stored for the first time (a redelivered
 * event is not passed again): what it writes commits with them, or not at all.
 */
export type EventsStoredHook = (tx: SqlExecutor, origin: GatewayAddress, stored: { inserted: readonly DeviceEvent[]; picturesAdded: readonly DeviceEvent[] }) => Promise<void>;

export interface StoredEvent {
  site: string;
  gateway: string;
  id: string;
  device: string;
  type: string;
  ts: number;
  point: string | null;
  credential: string | null;
  reason: string | null;
  attachments: number;
}

/** Where a page of events ends: the keyset (time, gateway, id) of its last event, newest first. */
export interface EventKey {
  /** the event's time in microseconds since the epoch, exactly as stored */
  tsUs: string;
  gateway: string;
  id: string;
}

export interface EventSearch {
  site: string;
  device?: string;
  /** any of these types */
  types?: readonly string[];
  /** epoch ms, inclusive */
  from?: number;
  /** epoch ms, exclusive */
  to?: number;
  /** the last characters of a card number (hex digits): masked credentials ending with them */
  card?: string;
  /** continue after this event */
  after?: EventKey;
  limit: number;
}

/** Security and device events with their evidence (camera snapshots); stored once per (gateway, id), pictures added when they follow. */
export class EventStore {
  private readonly hooks: EventsStoredHook[] = [];
  private readonly committedListeners: (() => void)[] = [];

  constructor(private readonly db: SqlClient) {}

  /** Calls `listener` after a write that stored something new has committed (the live feed reads it then). */
  onCommitted(listener: () => void): void {
    this.committedListeners.push(listener);
  }

  /** Runs `hook` for newly stored events, inside the storing transaction (the alarm engine raises alarms here). */
  onStored(hook: EventsStoredHook): void {
    this.hooks.push(hook);
  }

  async write(origin: GatewayAddress, events: readonly DeviceEvent[]): Promise<{ inserted: number; duplicates: number }> {
    let inserted = 0;
    let changed = false;
    await this.db.transaction(async (tx) => {
      const fresh: DeviceEvent[] = [];
      // events stored before, whose pictures arrive now
      const picturesAdded: DeviceEvent[] = [];
      for (const e of events) {
        const rows = await tx.query(
          `INSERT INTO events (site, gateway, id, device, type, ts, point, credential, reason)
             VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0), $7, $8, $9)
           ON CONFLICT (site, gateway, id) DO NOTHING RETURNING 1`,
          [origin.site, origin.gateway, e.id, e.device, e.type, e.ts, e.point ?? null, e.credential ?? null, e.reason ?? null],
        );
        if (rows.length > 0) {
          inserted++;
          fresh.push(e);
        }
        // The gateway sends a door alarm at once, and again with its pictures when the cameras have
        // answered: the second time the event is known, its pictures are added.
        let newPictures = 0;
        for (const [idx, a] of (e.attachments ?? []).entries()) {
          newPictures += await tx.execute(
            `INSERT INTO event_attachments (site, gateway, event_id, idx, camera, content_type, ts, data)
               VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7 / 1000.0), $8)
             ON CONFLICT (site, gateway, event_id, idx) DO NOTHING`,
            [origin.site, origin.gateway, e.id, idx, a.camera, a.contentType, a.ts, Buffer.from(a.dataBase64, 'base64')],
          );
        }
        if (rows.length === 0 && newPictures > 0) picturesAdded.push(e);
      }
      if (fresh.length === 0 && picturesAdded.length === 0) return;
      changed = true;
      // The console is told of each new event, and again when its pictures arrive (it fetches them by URL).
      await appendToLiveFeed(
        tx,
        [...fresh, ...picturesAdded].map((e) => ({ site: origin.site, kind: 'event' as const, payload: liveEventPayload(origin, e) })),
      );
      for (const hook of this.hooks) await hook(tx, origin, { inserted: fresh, picturesAdded });
    });
    if (changed) for (const listener of this.committedListeners) listener();
    return { inserted, duplicates: events.length - inserted };
  }

  /** One picture attached to an event, as stored. */
  async attachment(site: string, gateway: string, eventId: string, index: number): Promise<{ camera: string; contentType: string; ts: number; data: Buffer } | undefined> {
    const rows = await this.db.query<{ camera: string; contentType: string; ts: number; data: Buffer | Uint8Array }>(
      `SELECT camera, content_type AS "contentType", (extract(epoch from ts) * 1000)::float8 AS ts, data
         FROM event_attachments WHERE site = $1 AND gateway = $2 AND event_id = $3 AND idx = $4`,
      [site, gateway, eventId, index],
    );
    const row = rows[0];
    return row ? { ...row, data: Buffer.from(row.data) } : undefined;
  }

  async list(site: string, limit: number): Promise<StoredEvent[]> {
    return this.db.query<StoredEvent>(
      `SELECT e.site, e.gateway, e.id, e.device, e.type, (extract(epoch from e.ts) * 1000)::float8 AS ts,
              e.point, e.credential, e.reason,
              (SELECT count(*)::int FROM event_attachments a
                WHERE a.site = e.site AND a.gateway = e.gateway AND a.event_id = e.id) AS attachments
         FROM events e WHERE e.site = $1 ORDER BY e.ts DESC LIMIT $2`,
      [site, limit],
    );
  }

  /**
   * Events of a site matching the filters, newest first (time, then gateway and id), `limit` at most,
   * and where the next page starts when there are more.
   */
  async search(q: EventSearch): Promise<{ events: StoredEvent[]; next: EventKey | null }> {
    const params: unknown[] = [q.site];
    const where = ['e.site = $1'];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (q.device !== undefined) where.push(`e.device = ${param(q.device)}`);
    if (q.types !== undefined) where.push(`e.type = ANY(${param(q.types)}::text[])`);
    if (q.from !== undefined) where.push(`e.ts >= to_timestamp(${param(q.from)} / 1000.0)`);
    if (q.to !== undefined) where.push(`e.ts < to_timestamp(${param(q.to)} / 1000.0)`);
    if (q.card !== undefined) where.push(`upper(e.credential) LIKE '%' || ${param(q.card.toUpperCase().replace(/[^0-9A-Z]/g, ''))}`);
    if (q.after !== undefined) {
      const ts = `('epoch'::timestamptz + ${param(q.after.tsUs)}::bigint * interval '1 microsecond')`;
      // The first condition lets the (site, ts) index bound the scan; the second is the exact keyset.
      where.push(`e.ts <= ${ts}`, `(e.ts, e.gateway, e.id) < (${ts}, ${param(q.after.gateway)}, ${param(q.after.id)})`);
    }
    const rows = await this.db.query<StoredEvent & { tsUs: string }>(
      `SELECT e.site, e.gateway, e.id, e.device, e.type, (extract(epoch from e.ts) * 1000)::float8 AS ts,
              e.point, e.credential, e.reason,
              (SELECT count(*)::int FROM event_attachments a
                WHERE a.site = e.site AND a.gateway = e.gateway AND a.event_id = e.id) AS attachments,
              floor(extract(epoch from e.ts) * 1000000)::bigint::text AS "tsUs"
         FROM events e WHERE ${where.join(' AND ')}
        ORDER BY e.ts DESC, e.gateway DESC, e.id DESC LIMIT ${param(q.limit + 1)}`,
      params,
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const next = rows.length > q.limit && last ? { tsUs: last.tsUs, gateway: last.gateway, id: last.id } : null;
    return { events: page.map(({ tsUs: _, ...event }) => event), next };
  }
}

/** An event as the live feed carries it: the shape of GET /api/v1/events, pictures as URLs. */
export function liveEventPayload(origin: GatewayAddress, e: DeviceEvent): Record<string, unknown> {
  const attachments = e.attachments?.length ?? 0;
  return {
    site: origin.site,
    gateway: origin.gateway,
    id: e.id,
    device: e.device,
    type: e.type,
    ts: e.ts,
    point: e.point ?? null,
    credential: e.credential ?? null,
    reason: e.reason ?? null,
    attachments,
    attachmentUrls: attachmentUrls(origin.site, origin.gateway, e.id, attachments),
  };
}

/** Where each picture of an event is served. */
export function attachmentUrls(site: string, gateway: string, eventId: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `/api/v1/sites/${encodeURIComponent(site)}/events/${encodeURIComponent(gateway)}/${encodeURIComponent(eventId)}/attachments/${i}`);
}
