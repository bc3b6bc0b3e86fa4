import pg from 'pg';

/** The machine's PostgreSQL (override with GH_TEST_PG_URL), where benchmarks make their databases. */
export const PG_ADMIN_URL = process.env.GH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The machine's TimescaleDB server (override with GH_TEST_TIMESCALE_URL). */
export const TIMESCALE_ADMIN_URL = process.env.GH_TEST_TIMESCALE_URL ?? 'postgres://postgres@127.0.0.1:5433/postgres';

/** Runs `work` on a throw-away database (on `adminUrl`'s server), dropped afterwards whatever happens. */
export async function withDatabase<T>(work: (url: string) => Promise<T>, adminUrl = PG_ADMIN_URL): Promise<T> {
  const name = `gh_bench_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString());
  } finally {
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  }
}
