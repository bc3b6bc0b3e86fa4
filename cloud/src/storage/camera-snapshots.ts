import type { SqlClient, SqlExecutor } from './sql-client.js';

/** A picture of a camera as the API serves it: taken on request, or attached to a door alarm. */
export interface CameraPicture {
  camera: string;
  contentType: string;
  /** when the camera was asked for it, epoch ms */
  takenAt: number;
  data: Buffer;
  /** request: taken when someone asked for it (camera_snapshots); event: attached to an event */
  source: 'request' | 'event';
  /** the stored snapshot (source request) */
  snapshotId: number | null;
  /** who asked for it (source request) */
  requestedBy: string | null;
}

export interface NewSnapshot {
  site: string;
  device: string;
  contentType: string;
  takenAt: number;
  requestedBy: string;
  data: Buffer;
}

type PictureRow = Omit<CameraPicture, 'data'> & { data: Buffer | Uint8Array };

const PICTURE_COLUMNS = `content_type AS "contentType", (extract(epoch from ts) * 1000)::float8 AS "takenAt"`;

/**
 * Pictures taken on request (a guard asking a camera for one now), kept as images, not as the base64
 * they travelled in; and the latest picture of a camera whichever way it was taken.
 */
export class CameraSnapshotStore {
  constructor(private readonly db: SqlClient) {}

  /** Stores a picture in the caller's transaction; returns its id. */
  async insert(tx: SqlExecutor, snapshot: NewSnapshot): Promise<number> {
    const rows = await tx.query<{ id: number }>(
      `INSERT INTO camera_snapshots (site, device, content_type, taken_at, requested_by, data)
         VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), $5, $6) RETURNING id::float8 AS id`,
      [snapshot.site, snapshot.device, snapshot.contentType, snapshot.takenAt, snapshot.requestedBy, snapshot.data],
    );
    return rows[0]!.id;
  }

  /** One stored snapshot of a camera. */
  async get(site: string, device: string, id: number): Promise<CameraPicture | undefined> {
    const rows = await this.db.query<PictureRow>(
      `SELECT 'request' AS source, id::float8 AS "snapshotId", device AS camera, requested_by AS "requestedBy", ${PICTURE_COLUMNS}, data
         FROM (SELECT *, taken_at AS ts FROM camera_snapshots WHERE site = $1 AND device = $2 AND id = $3) s`,
      [site, device, id],
    );
    return toPicture(rows[0]);
  }

  /** The newest picture of a camera: taken on request, or attached to an event, whichever is later. */
  async latest(site: string, device: string): Promise<CameraPicture | undefined> {
    const rows = await this.db.query<PictureRow>(
      `SELECT source, "snapshotId", camera, "requestedBy", ${PICTURE_COLUMNS}, data FROM (
         (SELECT 'request' AS source, id::float8 AS "snapshotId", device AS camera, requested_by AS "requestedBy", content_type, taken_at AS ts, data
            FROM camera_snapshots WHERE site = $1 AND device = $2 ORDER BY taken_at DESC, id DESC LIMIT 1)
         UNION ALL
         (SELECT 'event', NULL, camera, NULL, content_type, ts, data
            FROM event_attachments WHERE site = $1 AND camera = $2 ORDER BY ts DESC LIMIT 1)
       ) p ORDER BY ts DESC, source DESC LIMIT 1`,
      [site, device],
    );
    return toPicture(rows[0]);
  }

  /** When each camera of a site took its latest picture (on request or for an event), epoch ms. */
  async lastTakenAt(site: string): Promise<Map<string, number>> {
    const rows = await this.db.query<{ camera: string; ts: number }>(
      `SELECT camera, (extract(epoch from max(ts)) * 1000)::float8 AS ts FROM (
         SELECT device AS camera, max(taken_at) AS ts FROM camera_snapshots WHERE site = $1 GROUP BY device
         UNION ALL
         SELECT camera, max(ts) FROM event_attachments WHERE site = $1 GROUP BY camera
       ) t GROUP BY camera`,
      [site],
    );
    return new Map(rows.map((r) => [r.camera, r.ts]));
  }
}

function toPicture(row: PictureRow | undefined): CameraPicture | undefined {
  return row ? { ...row, data: Buffer.from(row.data) } : undefined;
}
