import { createPostgresClient, migrate, openTimeSeriesStore } from '@gatehouse/cloud';
import { createTestDatabase } from '../../../test/support/real-services.js';
import { describeTimeSeriesStore } from './time-series-store.conformance.js';

describeTimeSeriesStore('PostgreSQL (partitioned tables, BRIN, service-maintained rollups)', async () => {
  const database = await createTestDatabase('gh_store');
  const db = createPostgresClient({ connectionString: database.url });
  await migrate(db);
  const store = await openTimeSeriesStore(db);
  return {
    store,
    db,
    cleanup: async () => {
      await db.close();
      await database.drop();
    },
  };
});
