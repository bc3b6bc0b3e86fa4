import type { DeviceDescriptor, GatewayAddress, GatewayState, Reading } from '@gatehouse/contracts';
import type { SqlClient, SqlExecutor } from './sql-client.js';

export interface SiteSummary {
  id: string;
  name: string | null;
  timeZone: string;
  gateways: number;
  devices: number;
}

export interface GatewaySummary {
  site: string;
  id: string;
  status: 'online' | 'offline' | 'unknown';
  version: string | null;
  lastSeen: number | null;
  statusChangedAt: number | null;
  lastSeq: number | null;
  /** the gateway's journals as it last reported them: backlog waiting, drain rate */
  streams: GatewayStreams | null;
}

export type GatewayStreams = NonNullable<GatewayState['streams']>;

export interface DeviceSummary {
  site: string;
  id: string;
  gateway: string;
  kind: string;
  driver: string | null;
  profile: string | null;
  name: string | null;
  lastSeen: number | null;
  /** what the gateway last reported of an event-driven device (door, panel, camera): null until it reported either */
  reportedAs: 'online' | 'offline' | null;
}

export interface SiteDeclaration {
  id: string;
  name?: string;
  timeZone: string;
  buildings?: { id: string; name?: string }[];
  assets?: DeclaredAsset[];
}

/** An asset as the configuration declares it; its ledger details only seed the ledger (the console keeps them after). */
export interface DeclaredAsset {
  id: string;
  name?: string;
  kind: string;
  building?: string;
  devices?: string[];
  make?: string;
  model?: string;
  serialNo?: string;
  installedOn?: string;
  warrantyUntil?: string;
  location?: string;
}

export interface BuildingSummary {
  id: string;
  name: string | null;
}

export interface AssetSummary {
  id: string;
  name: string | null;
  kind: string;
  building: string | null;
  devices: string[];
}

const COUNTER_EVENT_QUALITIES = new Set(['counter_reset', 'counter_rollover', 'counter_negative_step', 'counter_jump']);

const EPOCH_MS = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** Sites, gateways and devices as the cloud has come to know them, with last-seen times. */
export class SiteRegistry {
  constructor(private readonly db: SqlClient) {}

  async ensureSite(site: string): Promise<void> {
    await this.db.query('INSERT INTO sites (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [site]);
  }

  /**
   * A site declared in the configuration. When its time zone changes, every rollup of its series is
   * queued for recomputation, since its days and months now start at other instants.
   */
  async declareSite(site: SiteDeclaration): Promise<{ timeZoneChanged: boolean }> {
    return this.db.transaction(async (tx) => {
      const before = await tx.query<{ time_zone: string }>('SELECT time_zone FROM sites WHERE id = $1 FOR UPDATE', [site.id]);
      await tx.query(
        `INSERT INTO sites (id, name, time_zone) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET name = COALESCE(EXCLUDED.name, sites.name), time_zone = EXCLUDED.time_zone`,
        [site.id, site.name ?? null, site.timeZone],
      );
      await this.declareBuildingsAndAssets(tx, site);
      const changed = before[0] !== undefined && before[0].time_zone !== site.timeZone;
      if (changed) {
        await tx.query(
          `INSERT INTO rollup_pending (series_ids, from_ts, to_ts)
             SELECT ARRAY[r.series_id], min(r.bucket), max(r.bucket) + interval '15 minutes' FROM rollup_15m r JOIN series s ON s.id = r.series_id
              WHERE s.site = $1 GROUP BY r.series_id`,
          [site.id],
        );
      }
      return { timeZoneChanged: changed };
    });
  }

  /**
   * The configuration is the source of truth for a declared site's buildings and assets: what it no
   * longer lists goes, what it lists is created or updated.
   */
  private async declareBuildingsAndAssets(tx: SqlExecutor, site: SiteDeclaration): Promise<void> {
    const buildings = site.buildings ?? [];
    const assets = site.assets ?? [];
    // Assets added in the console are not the configuration's to remove.
    await tx.execute('DELETE FROM assets WHERE site = $1 AND declared AND NOT (id = ANY($2::text[]))', [site.id, assets.map((a) => a.id)]);
    await tx.execute('DELETE FROM buildings WHERE site = $1 AND NOT (id = ANY($2::text[]))', [site.id, buildings.map((b) => b.id)]);
    await tx.execute(
      `INSERT INTO buildings (site, id, name) SELECT $1, i, n FROM unnest($2::text[], $3::text[]) AS x (i, n)
       ON CONFLICT (site, id) DO UPDATE SET name = EXCLUDED.name`,
      [site.id, buildings.map((b) => b.id), buildings.map((b) => b.name ?? null)],
    );
    const column = (pick: (a: DeclaredAsset) => string | undefined) => assets.map((a) => pick(a) ?? null);
    await tx.execute(
      `INSERT INTO assets (site, id, name, kind, building, declared, make, model, serial_no, installed_on, warranty_until, location)
         SELECT $1, i, n, k, b, true, mk, md, sn, io::date, wu::date, loc
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
             AS x (i, n, k, b, mk, md, sn, io, wu, loc)
       ON CONFLICT (site, id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, building = EXCLUDED.building, declared = true,
         make = COALESCE(assets.make, EXCLUDED.make), model = COALESCE(assets.model, EXCLUDED.model),
         serial_no = COALESCE(assets.serial_no, EXCLUDED.serial_no), installed_on = COALESCE(assets.installed_on, EXCLUDED.installed_on),
         warranty_until = COALESCE(assets.warranty_until, EXCLUDED.warranty_until), location = COALESCE(assets.location, EXCLUDED.location)`,
      [
        site.id,
        column((a) => a.id),
        column((a) => a.name),
        column((a) => a.kind),
        column((a) => a.building),
        column((a) => a.make),
        column((a) => a.model),
        column((a) => a.serialNo),
        column((a) => a.installedOn),
        column((a) => a.warrantyUntil),
        column((a) => a.location),
      ],
    );
    await tx.execute('DELETE FROM asset_devices d USING assets a WHERE d.site = $1 AND a.site = d.site AND a.id = d.asset AND a.declared', [site.id]);
    const links = assets.flatMap((a) => (a.devices ?? []).map((device) => ({ asset: a.id, device })));
    await tx.execute(
      'INSERT INTO asset_devices (site, asset, device) SELECT $1, a, d FROM unnest($2::text[], $3::text[]) AS x (a, d) ON CONFLICT DO NOTHING',
      [site.id, links.map((l) => l.asset), links.map((l) => l.device)],
    );
  }

  /** The buildings of a site and its assets with the devices that measure or serve them. */
  async assetsOf(site: string): Promise<{ buildings: BuildingSummary[]; assets: AssetSummary[] }> {
    const buildings = await this.db.query<BuildingSummary>('SELECT id, name FROM buildings WHERE site = $1 ORDER BY id', [site]);
    const assets = await this.db.query<AssetSummary>(
      `SELECT a.id, a.name, a.kind, a.building, COALESCE(array_agg(d.device ORDER BY d.device) FILTER (WHERE d.device IS NOT NULL), '{}') AS devices
         FROM assets a LEFT JOIN asset_devices d ON d.site = a.site AND d.asset = a.id
        WHERE a.site = $1 GROUP BY a.id, a.name, a.kind, a.building ORDER BY a.id`,
      [site],
    );
    return { buildings, assets };
  }

  /** Records a birth or death message. */
  async recordGatewayState(address: GatewayAddress, state: { status: 'online' | 'offline'; version?: string; devices?: DeviceDescriptor[]; streams?: GatewayStreams }): Promise<void> {
    await this.ensureSite(address.site);
    await this.db.query(
      `INSERT INTO gateways (site, id, status, version, last_seen, status_changed_at, streams)
         VALUES ($1, $2, $3, $4, now(), now(), $5)
       ON CONFLICT (site, id) DO UPDATE SET
         status = EXCLUDED.status,
         version = COALESCE(EXCLUDED.version, gateways.version),
         streams = COALESCE(EXCLUDED.streams, gateways.streams),
         last_seen = now(),
         status_changed_at = CASE WHEN gateways.status = EXCLUDED.status THEN gateways.status_changed_at ELSE now() END`,
      [address.site, address.gateway, state.status, state.version ?? null, state.streams ? JSON.stringify(state.streams) : null],
    );
    const devices = state.devices ?? [];
    if (devices.length > 0) {
      await this.db.query(
        `INSERT INTO devices (site, id, gateway, kind, driver, profile, name)
           SELECT $1, i, $2, k, d, p, n FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t (i, k, d, p, n)
         ON CONFLICT (site, id) DO UPDATE SET
           gateway = EXCLUDED.gateway, kind = EXCLUDED.kind, driver = EXCLUDED.driver,
           profile = EXCLUDED.profile, name = EXCLUDED.name`,
        [
          address.site,
          address.gateway,
          devices.map((d) => d.id),
          devices.map((d) => d.kind),
          devices.map((d) => d.driver),
          devices.map((d) => d.profile ?? null),
          devices.map((d) => d.name ?? null),
        ],
      );
    }
  }

  /** Records that a gateway was heard from (any message of its own is a sign of life). */
  async recordHeardFrom(address: GatewayAddress): Promise<void> {
    await this.db.query(
      `INSERT INTO gateways (site, id, status, last_seen, status_changed_at) VALUES ($1, $2, 'online', now(), now())
       ON CONFLICT (site, id) DO UPDATE SET last_seen = now()`,
      [address.site, address.gateway],
    );
  }

  /** Records that a batch (journal entries seq..lastSeq of one stream) was stored. */
  async recordBatch(address: GatewayAddress, stream: 'telemetry' | 'events', seq: number, lastSeq: number, historical: boolean): Promise<void> {
    await this.db.query(
      `INSERT INTO received_batches (site, gateway, stream, first_seq, last_seq, historical) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING`,
      [address.site, address.gateway, stream, seq, lastSeq, historical],
    );
  }

  /**
   * Records ranges a gateway says its journal no longer holds: lost between broker and cloud, and gone
   * at the source. They count as settled, so nobody asks for them again.
   */
  async recordLostRanges(address: GatewayAddress, stream: 'telemetry' | 'events', ranges: readonly [number, number][]): Promise<void> {
    for (const [from, to] of ranges) {
      await this.db.query(
        `INSERT INTO received_batches (site, gateway, stream, first_seq, last_seq, historical, lost) VALUES ($1, $2, $3, $4, $5, true, true)
         ON CONFLICT DO NOTHING`,
        [address.site, address.gateway, stream, from, to],
      );
    }
  }

  /**
   * Records that a gateway delivered data for devices, each last read at the given time (epoch ms).
   * Returns the devices no gateway has declared in its birth message (stored all the same, and flagged).
   */
  async recordTelemetry(address: GatewayAddress, seq: number, lastReadByDevice: ReadonlyMap<string, number>): Promise<string[]> {
    await this.ensureSite(address.site);
    await this.db.query(
      `INSERT INTO gateways (site, id, status, last_seen, status_changed_at, last_seq)
         VALUES ($1, $2, 'online', now(), now(), $3)
       ON CONFLICT (site, id) DO UPDATE SET
         last_seen = now(),
         last_seq = GREATEST(gateways.last_seq, EXCLUDED.last_seq)`,
      [address.site, address.gateway, seq],
    );
    const ids = [...lastReadByDevice.keys()];
    const rows = await this.db.query<{ id: string; declared: boolean }>(
      `INSERT INTO devices (site, id, gateway, last_seen)
         SELECT $1, i, $2, to_timestamp(t / 1000.0) FROM unnest($3::text[], $4::float8[]) AS x (i, t)
       ON CONFLICT (site, id) DO UPDATE SET
         gateway = EXCLUDED.gateway,
         last_seen = GREATEST(devices.last_seen, EXCLUDED.last_seen)
       RETURNING id, driver IS NOT NULL AS declared`,
      [address.site, address.gateway, ids, ids.map((id) => lastReadByDevice.get(id))],
    );
    return rows.filter((r) => !r.declared).map((r) => r.id);
  }

  /**
   * Records that devices (doors, readers, panels, cameras) were heard from through their events, each
   * last at the given time (epoch ms; a device clock ahead of the cloud's counts as now).
   */
  async recordDeviceEvents(address: GatewayAddress, lastEventByDevice: ReadonlyMap<string, number>): Promise<void> {
    if (lastEventByDevice.size === 0) return;
    const ids = [...lastEventByDevice.keys()];
    await this.db.query(
      `INSERT INTO devices (site, id, gateway, last_seen)
         SELECT $1, i, $2, LEAST(to_timestamp(t / 1000.0), now()) FROM unnest($3::text[], $4::float8[]) AS x (i, t)
       ON CONFLICT (site, id) DO UPDATE SET
         gateway = EXCLUDED.gateway,
         last_seen = GREATEST(devices.last_seen, EXCLUDED.last_seen)`,
      [address.site, address.gateway, ids, ids.map((id) => lastEventByDevice.get(id))],
    );
  }

  /**
   * Keeps the counter readings the edge flagged (reset, rollover, negative step, jump): the rollups
   * leave them out, the detectors report them. A replayed one changes nothing.
   */
  async recordCounterEvents(site: string, readings: readonly Reading[]): Promise<void> {
    const flagged = readings.filter((r) => COUNTER_EVENT_QUALITIES.has(r.quality));
    if (flagged.length === 0) return;
    await this.db.query(
      `INSERT INTO counter_events (site, device, metric, ts, quality, value)
         SELECT $1, d, m, to_timestamp(t / 1000.0), q, v FROM unnest($2::text[], $3::text[], $4::float8[], $5::text[], $6::float8[]) AS x (d, m, t, q, v)
       ON CONFLICT DO NOTHING`,
      [site, flagged.map((r) => r.device), flagged.map((r) => r.metric), flagged.map((r) => r.ts), flagged.map((r) => r.quality), flagged.map((r) => r.value)],
    );
  }

  /**
   * Keeps each meter's comm_error_since (what the meter_comm_error alarm watches): set to the first
   * communication error after its last answer when a batch ends in errors and it was answering, back to
   * null once it answers again (a reading of any other quality, newer than the errors began).
   */
  async recordCommErrors(site: string, readings: readonly Reading[]): Promise<void> {
    const byDevice = new Map<string, { answered: number | null; errors: number[] }>();
    for (const r of readings) {
      const d = byDevice.get(r.device) ?? { answered: null, errors: [] };
      if (r.quality === 'comm_error') d.errors.push(r.ts);
      else d.answered = Math.max(d.answered ?? r.ts, r.ts);
      byDevice.set(r.device, d);
    }
    const ids = [...byDevice.keys()];
    const answered = ids.map((id) => byDevice.get(id)!.answered);
    // the first error after the last answer of the batch: the meter has not answered since
    const failing = ids.map((id) => {
      const d = byDevice.get(id)!;
      const after = d.errors.filter((ts) => d.answered === null || ts > d.answered);
      return after.length > 0 ? Math.min(...after) : null;
    });
    await this.db.query(
      `UPDATE devices d SET comm_error_since = CASE
           WHEN x.answered IS NOT NULL AND (d.comm_error_since IS NULL OR to_timestamp(x.answered / 1000.0) >= d.comm_error_since)
             THEN to_timestamp(x.failing / 1000.0)
           WHEN d.comm_error_since IS NULL THEN to_timestamp(x.failing / 1000.0)
           ELSE d.comm_error_since END
         FROM unnest($2::text[], $3::float8[], $4::float8[]) AS x (id, answered, failing)
        WHERE d.site = $1 AND d.id = x.id`,
      [site, ids, answered, failing],
    );
  }

  async listSites(): Promise<SiteSummary[]> {
    return this.db.query<SiteSummary>(
      `SELECT s.id, s.name, s.time_zone AS "timeZone",
              (SELECT count(*)::int FROM gateways g WHERE g.site = s.id) AS gateways,
              (SELECT count(*)::int FROM devices d WHERE d.site = s.id) AS devices
         FROM sites s ORDER BY s.id`,
    );
  }

  async listGateways(site?: string): Promise<GatewaySummary[]> {
    return this.db.query<GatewaySummary>(
      `SELECT site, id, status, version, ${EPOCH_MS('last_seen')} AS "lastSeen",
              ${EPOCH_MS('status_changed_at')} AS "statusChangedAt", last_seq AS "lastSeq", streams
         FROM gateways WHERE $1::text IS NULL OR site = $1 ORDER BY site, id`,
      [site ?? null],
    );
  }

  async listDevices(site?: string): Promise<DeviceSummary[]> {
    return this.db.query<DeviceSummary>(
      `SELECT d.site, d.id, d.gateway, d.kind, d.driver, d.profile, d.name, ${EPOCH_MS('d.last_seen')} AS "lastSeen",
              CASE c.type WHEN 'device_offline' THEN 'offline' WHEN 'device_online' THEN 'online' END AS "reportedAs"
         FROM devices d
         LEFT JOIN LATERAL (
           SELECT type FROM events e
            WHERE e.site = d.site AND e.device = d.id AND e.type IN ('device_offline', 'device_online')
            ORDER BY e.ts DESC LIMIT 1
         ) c ON true
        WHERE $1::text IS NULL OR d.site = $1 ORDER BY d.site, d.id`,
      [site ?? null],
    );
  }
}
