import { randomBytes } from 'node:crypto';
import { connect } from 'mqtt';
import pg from 'pg';

/** The machine's PostgreSQL and Mosquitto; override with GH_TEST_PG_URL / GH_TEST_MQTT_URL. */
export const REAL_PG_ADMIN_URL = process.env.GH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REAL_MQTT_URL = process.env.GH_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

function databaseUrl(name: string, adminUrl: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The machine's TimescaleDB server (../shared/vendor/timescaledb/install.sh starts one on 5433);
 * override with GH_TEST_TIMESCALE_URL.
 */
export const REAL_TIMESCALE_ADMIN_URL = process.env.GH_TEST_TIMESCALE_URL ?? 'postgres://postgres@127.0.0.1:5433/postgres';

/** Creates a throw-away database on the real PostgreSQL; fails loudly if the server is not there. */
export async function createTestDatabase(prefix: string, adminUrl = REAL_PG_ADMIN_URL, service = 'PostgreSQL'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`${service} is required at ${adminUrl} for this test: ${(err as Error).message}`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: databaseUrl(name, adminUrl),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A throw-away database on the machine's TimescaleDB server; fails loudly, naming it, if it is not there. */
export function createTimescaleTestDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  return createTestDatabase(prefix, REAL_TIMESCALE_ADMIN_URL, 'TimescaleDB (../shared/vendor/timescaledb/install.sh, or GH_TEST_TIMESCALE_URL)');
}

/** Checks the broker answers; fails loudly if it does not. */
export async function requireBroker(url = REAL_MQTT_URL): Promise<void> {
  const client = connect(url, { reconnectPeriod: 0, connectTimeout: 3000 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', (err) => reject(new Error(`an MQTT broker is required at ${url} for this test: ${err.message}`)));
      client.once('close', () => reject(new Error(`an MQTT broker is required at ${url} for this test: connection closed`)));
    });
  } finally {
    await client.endAsync(true);
  }
}

/**
 * Leaves the shared broker as it was: clears retained messages under `topics` and ends the persistent
 * sessions of `clientIds`.
 */
export async function cleanBroker(url: string, retainedTopics: string[], clientIds: string[]): Promise<void> {
  const cleaner = connect(url, { reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    cleaner.once('connect', () => resolve());
    cleaner.once('error', reject);
  });
  for (const topic of retainedTopics) await cleaner.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
  await cleaner.endAsync();
  for (const clientId of clientIds) {
    const session = connect(url, { clientId, clean: true, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    await session.endAsync();
  }
}

/** The machine's InfluxDB 1.x (started by .ci/run); override with GH_TEST_INFLUX_URL. */
export const REAL_INFLUX_URL = process.env.GH_TEST_INFLUX_URL ?? 'http://127.0.0.1:8086';

async function influxQuery(q: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${REAL_INFLUX_URL}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
  } catch (err) {
    throw new Error(`InfluxDB is required at ${REAL_INFLUX_URL} for this test: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`InfluxDB refused "${q}": ${res.status} ${await res.text()}`);
}

/** A throw-away database on the real InfluxDB; fails loudly if the server is not there. */
export async function createTestInfluxDatabase(prefix: string): Promise<{ url: string; database: string; drop: () => Promise<void> }> {
  const database = uniqueName(prefix);
  await influxQuery(`CREATE DATABASE ${database}`);
  return { url: REAL_INFLUX_URL, database, drop: () => influxQuery(`DROP DATABASE ${database}`) };
}
