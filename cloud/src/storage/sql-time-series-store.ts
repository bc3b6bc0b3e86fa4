import type { GatewayAddress, Quality, Reading } from '@gatehouse/contracts';
import type { SqlClient } from './sql-client.js';
import type { BucketPoint, LatestReading, RawPoint, SeriesQuery, SeriesResult, TimeSeriesStore, WriteResult } from './time-series-store.js';

const seriesKey = (site: string, device: string, metric: string) => `${site}\u0000${device}\u0000${metric}`;

/** Epoch milliseconds of a timestamptz column, as a float8 both drivers return as a number. */
const EPOCH_MS = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/**
 * Readings in PostgreSQL or PGlite: a `series` catalogue (site, device, metric → id) and a `readings`
 * table keyed by (series_id, ts), so a replayed reading hits the key and changes nothing.
 */
export class SqlTimeSeriesStore implements TimeSeriesStore {
  // Series ids never change once assigned, so every instance may cache them.
  private readonly seriesIds = new Map<string, number>();

  constructor(private readonly db: SqlClient) {}

  private async resolveSeries(site: string, readings: readonly Reading[]): Promise<number[]> {
    const missing = new Map<string, { device: string; metric: string; unit: string }>();
    for (const r of readings) {
      const key = seriesKey(site, r.device, r.metric);
      if (!this.seriesIds.has(key)) missing.set(key, { device: r.device, metric: r.metric, unit: r.unit });
    }
    if (missing.size > 0) {
      const list = [...missing.values()];
      const rows = await this.db.query<{ id: number; device: string; metric: string }>(
        `INSERT INTO series (site, device, metric, unit)
           SELECT $1, d, m, u FROM unnest($2::text[], $3::text[], $4::text[]) AS t (d, m, u)
         ON CONFLICT (site, device, metric) DO UPDATE SET unit = series.unit
         RETURNING id, device, metric`,
        [site, list.map((s) => s.device), list.map((s) => s.metric), list.map((s) => s.unit)],
      );
      for (const row of rows) this.seriesIds.set(seriesKey(site, row.device, row.metric), row.id);
    }
    return readings.map((r) => {
      const id = this.seriesIds.get(seriesKey(site, r.device, r.metric));
      if (id === undefined) throw new Error(`series ${site}/${r.device}/${r.metric} was not created`);
      return id;
    });
  }

  async write(origin: GatewayAddress, readings: readonly Reading[]): Promise<WriteResult> {
    if (readings.length === 0) return { inserted: 0, duplicates: 0 };
    const ids = await this.resolveSeries(origin.site, readings);
    const rows = await this.db.query<{ inserted: number }>(
      `WITH ins AS (
         INSERT INTO readings (series_id, ts, value, quality)
           SELECT s, to_timestamp(t / 1000.0), v, q
             FROM unnest($1::int[], $2::float8[], $3::float8[], $4::text[]) AS x (s, t, v, q)
         ON CONFLICT (series_id, ts) DO NOTHING
         RETURNING 1)
       SELECT count(*)::int AS inserted FROM ins`,
      [ids, readings.map((r) => r.ts), readings.map((r) => r.value), readings.map((r) => r.quality)],
    );
    const inserted = rows[0]?.inserted ?? 0;
    return { inserted, duplicates: readings.length - inserted };
  }

  private async seriesOf(site: string, device: string, metric: string): Promise<{ id: number; unit: string } | undefined> {
    const rows = await this.db.query<{ id: number; unit: string }>(
      'SELECT id, unit FROM series WHERE site = $1 AND device = $2 AND metric = $3',
      [site, device, metric],
    );
    return rows[0];
  }

  async query(q: SeriesQuery): Promise<SeriesResult> {
    const series = await this.seriesOf(q.site, q.device, q.metric);
    if (!series) return { unit: null, points: [] };
    if (q.stepMs === undefined) {
      const rows = await this.db.query<{ ts: number; value: number | null; quality: Quality }>(
        `SELECT ${EPOCH_MS('ts')} AS ts, value, quality FROM readings
          WHERE series_id = $1 AND ts >= to_timestamp($2 / 1000.0) AND ts < to_timestamp($3 / 1000.0)
          ORDER BY ts LIMIT $4`,
        [series.id, q.from, q.to, q.limit],
      );
      return { unit: series.unit, points: rows satisfies RawPoint[] };
    }
    // Buckets are aligned to the Unix epoch; site-calendar days and months come with the rollups.
    const rows = await this.db.query<BucketPoint>(
      `SELECT ${EPOCH_MS('bucket')} AS ts, mean, min, max, last, count FROM (
         SELECT date_bin(make_interval(secs => $4 / 1000.0), ts, 'epoch'::timestamptz) AS bucket,
                avg(value) FILTER (WHERE quality = 'good') AS mean,
                min(value) FILTER (WHERE quality = 'good') AS min,
                max(value) FILTER (WHERE quality = 'good') AS max,
                (array_agg(value ORDER BY ts DESC) FILTER (WHERE quality = 'good'))[1] AS last,
                (count(*) FILTER (WHERE quality = 'good'))::int AS count
           FROM readings
          WHERE series_id = $1 AND ts >= to_timestamp($2 / 1000.0) AND ts < to_timestamp($3 / 1000.0)
          GROUP BY bucket) b
       ORDER BY bucket LIMIT $5`,
      [series.id, q.from, q.to, q.stepMs, q.limit],
    );
    return { unit: series.unit, points: rows };
  }

  async latest(site: string, device: string): Promise<LatestReading[]> {
    return this.db.query<LatestReading>(
      `SELECT s.device, s.metric, s.unit, ${EPOCH_MS('r.ts')} AS ts, r.value, r.quality
         FROM series s
         CROSS JOIN LATERAL (SELECT ts, value, quality FROM readings WHERE series_id = s.id ORDER BY ts DESC LIMIT 1) r
        WHERE s.site = $1 AND s.device = $2
        ORDER BY s.metric`,
      [site, device],
    );
  }

  async close(): Promise<void> {
    // The SqlClient is owned by whoever created it.
  }
}
