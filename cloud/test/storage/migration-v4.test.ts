import { describe, expect, it } from 'vitest';
import { createPgliteClient, migrate, MIGRATIONS, openTimeSeriesStore } from '@gatehouse/cloud';

describe('migration 4: readings move to monthly partitions and get rollups', () => {
  it('keeps every reading stored before it, and rolls them up', async () => {
    const db = await createPgliteClient(undefined);
    try {
      expect(await migrate(db, { upTo: 3 })).toEqual([1, 2, 3]);
      await db.query("INSERT INTO series (site, device, metric, unit) VALUES ('s1', 'm1', 'active_power', 'W')");
      const t0 = Date.UTC(2026, 9, 31, 23, 0);
      // Two hours across a month boundary (UTC), so two partitions.
      await db.query(
        `INSERT INTO readings (series_id, ts, value, quality)
           SELECT 1, to_timestamp(($1::float8 + i * 60000) / 1000.0), i, 'good' FROM generate_series(0, 119) AS i`,
        [t0],
      );
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version).filter((v) => v > 3));
      const partitions = await db.query<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass ORDER BY 1");
      expect(partitions.map((p) => p.name)).toEqual(['readings_p2026_10', 'readings_p2026_11']);
      const store = await openTimeSeriesStore(db);
      const series = await store.series('s1', 'm1', 'active_power');
      expect((await store.readRaw(series!, t0, t0 + 2 * 3_600_000, 1000)).map((p) => p.value)).toEqual(Array.from({ length: 120 }, (_, i) => i));
      await store.refreshRollups();
      const hours = (await store.readRollup('1h', [series!], t0, t0 + 2 * 3_600_000)).get(series!.id);
      expect(hours?.map((h) => [h.count, h.min, h.max])).toEqual([
        [60, 0, 59],
        [60, 60, 119],
      ]);
    } finally {
      await db.close();
    }
  });
});
