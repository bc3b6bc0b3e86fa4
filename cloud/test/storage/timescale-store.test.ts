import { createPostgresClient, migrate, openTimeSeriesStore } from '@gatehouse/cloud';
import { createTimescaleTestDatabase } from '../../../test/support/real-services.js';
import { describeTimeSeriesStore } from './time-series-store.conformance.js';

// The same suite as every backend, on the machine's TimescaleDB server: readings in a compressed
// hypertable, rollups maintained by the service.
describeTimeSeriesStore('TimescaleDB (hypertable, native compression, service-maintained rollups)', async () => {
  const database = await createTimescaleTestDatabase('gh_tsdb_store');
  const db = createPostgresClient({ connectionString: database.url });
  await migrate(db);
  const store = await openTimeSeriesStore(db, undefined, { use: 'require', chunkDays: 7, compressAfterDays: 7 });
  if (store.backend !== 'timescaledb') throw new Error(`expected the TimescaleDB backend, got ${store.backend}`);
  return {
    store,
    db,
    cleanup: async () => {
      await db.close();
      await database.drop();
    },
  };
});
