import { createPgliteClient, migrate, openTimeSeriesStore } from '@gatehouse/cloud';
import { createTestInfluxDatabase } from '../../../test/support/real-services.js';
import { describeTimeSeriesStore } from './time-series-store.conformance.js';

describeTimeSeriesStore('InfluxDB 1.x (catalogue and pending rollups in PGlite)', async () => {
  const influx = await createTestInfluxDatabase('gh_store');
  const db = await createPgliteClient(undefined);
  await migrate(db);
  const store = await openTimeSeriesStore(db, { kind: 'influxdb', url: influx.url, database: influx.database });
  return {
    store,
    db,
    cleanup: async () => {
      await db.close();
      await influx.drop();
    },
  };
});
