import { createPgliteClient, migrate, openTimeSeriesStore } from '@gatehouse/cloud';
import { describeTimeSeriesStore } from './time-series-store.conformance.js';

describeTimeSeriesStore('PGlite (embedded)', async () => {
  const db = await createPgliteClient(undefined);
  await migrate(db);
  const store = await openTimeSeriesStore(db);
  return { store, db, cleanup: () => db.close() };
});
