import { InfluxTimeSeriesStore, type InfluxStoreOptions } from './influx/influx-time-series-store.js';
import { SeriesCatalogue } from './series-catalogue.js';
import { SqlTimeSeriesStore } from './sql/sql-time-series-store.js';
import { prepareReadingsLayout, type TimescaleOptions } from './sql/timescale-layout.js';
import type { SqlClient } from './sql-client.js';
import type { TimeSeriesStore } from './time-series-store.js';

export type TimeSeriesBackendConfig = { kind: 'influxdb' } & InfluxStoreOptions;

/**
 * The store for readings: in the relational database itself (PostgreSQL or PGlite) unless a separate
 * time-series backend is configured. The relational database (already migrated) always holds the
 * series catalogue and the pending rollup intervals. On PostgreSQL with TimescaleDB, readings go to a
 * hypertable (see timescale-layout.ts).
 */
export async function openTimeSeriesStore(db: SqlClient, backend?: TimeSeriesBackendConfig, timescale?: TimescaleOptions): Promise<TimeSeriesStore> {
  const catalogue = new SeriesCatalogue(db);
  if (backend?.kind === 'influxdb') return InfluxTimeSeriesStore.open(backend, db, catalogue);
  return new SqlTimeSeriesStore(db, catalogue, await prepareReadingsLayout(db, timescale));
}
