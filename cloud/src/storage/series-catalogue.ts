import type { Reading } from '@gatehouse/contracts';
import type { SqlClient } from './sql-client.js';
import type { SeriesKind, SeriesRef } from './time-series-store.js';

const key = (site: string, device: string, metric: string) => `${site}\u0000${device}\u0000${metric}`;
const TIME_ZONE_TTL_MS = 30_000;

/**
 * The series every backend stores (site, device, metric → id, unit, counter or gauge), kept in the
 * relational database whichever backend holds the readings, with the site's time zone for rollups.
 */
export class SeriesCatalogue {
  // Ids never change once assigned, so every instance may cache them; the kind is part of the cached
  // entry so that a series first seen as a gauge and later declared a counter is updated.
  // Keyed site → device → metric: a batch of thousands of readings looks each up without building a key.
  private readonly byKey = new Map<string, Map<string, Map<string, SeriesRef>>>();
  private readonly byId = new Map<number, SeriesRef>();
  private readonly timeZones = new Map<string, { zone: string; at: number }>();

  constructor(private readonly db: SqlClient) {}

  /** The series of each reading, created where new. */
  async resolve(site: string, readings: readonly Reading[]): Promise<SeriesRef[]> {
    const resolved = new Array<SeriesRef | undefined>(readings.length);
    let missing: Map<string, { device: string; metric: string; unit: string; kind: SeriesKind }> | undefined;
    const known = this.byKey.get(site);
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const series = known?.get(r.device)?.get(r.metric);
      const kind = r.kind ?? 'gauge';
      if (series && (kind !== 'counter' || series.kind === 'counter')) {
        resolved[i] = series;
        continue;
      }
      missing ??= new Map();
      const k = key(site, r.device, r.metric);
      if (!missing.has(k)) missing.set(k, { device: r.device, metric: r.metric, unit: r.unit, kind });
    }
    if (!missing) return resolved as SeriesRef[];
    const list = [...missing.values()];
    const rows = await this.db.query<SeriesRef>(
      `INSERT INTO series (site, device, metric, unit, kind)
         SELECT $1, d, m, u, k FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS t (d, m, u, k)
       ON CONFLICT (site, device, metric) DO UPDATE
         SET kind = CASE WHEN EXCLUDED.kind = 'counter' THEN 'counter' ELSE series.kind END
       RETURNING id, site, device, metric, unit, kind`,
      [site, list.map((s) => s.device), list.map((s) => s.metric), list.map((s) => s.unit), list.map((s) => s.kind)],
    );
    for (const row of rows) this.remember(row);
    return readings.map((r, i) => {
      const series = resolved[i] ?? this.cached(site, r.device, r.metric);
      if (!series) throw new Error(`series ${site}/${r.device}/${r.metric} was not created`);
      return series;
    });
  }

  async find(site: string, device: string, metric: string): Promise<SeriesRef | undefined> {
    const cached = this.cached(site, device, metric);
    if (cached) return cached;
    const rows = await this.db.query<SeriesRef>('SELECT id, site, device, metric, unit, kind FROM series WHERE site = $1 AND device = $2 AND metric = $3', [site, device, metric]);
    return rows[0] ? this.remember(rows[0]) : undefined;
  }

  async ofSite(site: string, metric: string): Promise<SeriesRef[]> {
    const rows = await this.db.query<SeriesRef>('SELECT id, site, device, metric, unit, kind FROM series WHERE site = $1 AND metric = $2 ORDER BY device', [site, metric]);
    return rows.map((r) => this.remember(r));
  }

  async ofDevice(site: string, device: string): Promise<SeriesRef[]> {
    const rows = await this.db.query<SeriesRef>('SELECT id, site, device, metric, unit, kind FROM series WHERE site = $1 AND device = $2 ORDER BY metric', [site, device]);
    return rows.map((r) => this.remember(r));
  }

  async byIds(ids: readonly number[]): Promise<SeriesRef[]> {
    const missing = ids.filter((id) => !this.byId.has(id));
    if (missing.length > 0) {
      const rows = await this.db.query<SeriesRef>('SELECT id, site, device, metric, unit, kind FROM series WHERE id = ANY($1::int[])', [missing]);
      for (const row of rows) this.remember(row);
    }
    return ids.flatMap((id) => this.byId.get(id) ?? []);
  }

  /** The site's IANA time zone (sites.time_zone), re-read every 30 s. */
  async timeZoneOf(site: string): Promise<string> {
    const cached = this.timeZones.get(site);
    if (cached && Date.now() - cached.at < TIME_ZONE_TTL_MS) return cached.zone;
    const rows = await this.db.query<{ time_zone: string }>('SELECT time_zone FROM sites WHERE id = $1', [site]);
    const zone = rows[0]?.time_zone ?? DEFAULT_TIME_ZONE;
    this.timeZones.set(site, { zone, at: Date.now() });
    return zone;
  }

  private remember(row: SeriesRef): SeriesRef {
    // A copy holding exactly the fields of a SeriesRef, whatever else the row carried.
    const ref: SeriesRef = { id: row.id, site: row.site, device: row.device, metric: row.metric, unit: row.unit, kind: row.kind };
    let devices = this.byKey.get(row.site);
    if (!devices) this.byKey.set(row.site, (devices = new Map()));
    let metrics = devices.get(row.device);
    if (!metrics) devices.set(row.device, (metrics = new Map()));
    metrics.set(row.metric, ref);
    this.byId.set(row.id, ref);
    return ref;
  }

  private cached(site: string, device: string, metric: string): SeriesRef | undefined {
    return this.byKey.get(site)?.get(device)?.get(metric);
  }
}

/** Sites that have not been given a time zone use the demo's. */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';
