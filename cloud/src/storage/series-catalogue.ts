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
  private readonly byKey = new Map<string, SeriesRef>();
  private readonly byId = new Map<number, SeriesRef>();
  private readonly timeZones = new Map<string, { zone: string; at: number }>();

  constructor(private readonly db: SqlClient) {}

  /** The series of each reading, created where new. */
  async resolve(site: string, readings: readonly Reading[]): Promise<SeriesRef[]> {
    const missing = new Map<string, { device: string; metric: string; unit: string; kind: SeriesKind }>();
    for (const r of readings) {
      const k = key(site, r.device, r.metric);
      const known = this.byKey.get(k);
      const kind = r.kind ?? 'gauge';
      if ((!known || (kind === 'counter' && known.kind !== 'counter')) && !missing.has(k)) missing.set(k, { device: r.device, metric: r.metric, unit: r.unit, kind });
    }
    if (missing.size > 0) {
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
    }
    return readings.map((r) => {
      const series = this.byKey.get(key(site, r.device, r.metric));
      if (!series) throw new Error(`series ${site}/${r.device}/${r.metric} was not created`);
      return series;
    });
  }

  async find(site: string, device: string, metric: string): Promise<SeriesRef | undefined> {
    const cached = this.byKey.get(key(site, device, metric));
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
    this.byKey.set(key(row.site, row.device, row.metric), ref);
    this.byId.set(row.id, ref);
    return ref;
  }
}

/** Sites that have not been given a time zone use the demo's. */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';
