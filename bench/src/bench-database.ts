import pg from 'pg';

/** The machine's PostgreSQL (override with GH_TEST_PG_URL), where benchmarks make their databases. */
export const PG_ADMIN_URL = process.env.GH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs `work` on a throw-away database, dropped afterwards whatever happens. */
export async function withDatabase<T>(work: (url: string) => Promise<T>): Promise<T> {
  const name = `gh_bench_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString());
  } finally {
    const cleanup = new pg.Client({ connectionString: PG_ADMIN_URL });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  }
}
