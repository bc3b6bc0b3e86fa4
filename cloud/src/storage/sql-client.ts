import { PGlite } from '@electric-sql/pglite';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** What the stores need from a database connection; implemented for PostgreSQL (`pg`) and PGlite. */
export interface SqlExecutor {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a statement for its effect; returns how many rows it inserted, updated or deleted. */
  execute(text: string, params?: unknown[]): Promise<number>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * PostgreSQL only: streams `rows` (COPY text format, one line each; an iterable of pieces is made
   * lazily, so the server parses one piece while the next is being built) into `copyStatement`
   * (`COPY t (…) FROM STDIN`); returns how many rows went in.
   */
  copyFrom?(copyStatement: string, rows: Iterable<string>): Promise<number>;
}

export interface SqlClient extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `work` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs `work` while holding a database-wide advisory lock, so that only one process at a time does it;
   * `work` uses the client's other connections as usual.
   */
  withSessionLock<T>(lockId: number, work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// PostgreSQL's int8 comes back as a string by default; our counts and sequence numbers fit a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPostgresClient(options: { connectionString: string; maxConnections?: number }): SqlClient {
  // JIT compilation off unless the connection string says otherwise: the planner's estimates for the
  // many-series lateral joins of rollup refreshes are large, and compiling them costs 50–300 ms a
  // statement that runs in a few milliseconds (a live hourly refresh spent most of its time there).
  const jit = new URL(options.connectionString).searchParams.has('options') ? {} : { options: '-c jit=off' };
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10, ...jit });
  // An idle client that loses its connection (database restart) must not crash the process.
  pool.on('error', () => undefined);
  // Nor one that loses it while checked out (a transaction, a COPY, a session lock): pg-pool listens
  // for errors only on idle clients, and pg emits a dead socket's error on the client besides failing
  // its queries. The failed query is what the caller acts on; the broken client is released with it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return {
    kind: 'postgres',
    async query<R>(text: string, params?: unknown[]) {
      const result = await pool.query(text, params);
      return result.rows as R[];
    },
    async execute(text: string, params?: unknown[]) {
      return (await pool.query(text, params)).rowCount ?? 0;
    },
    async exec(script: string) {
      await pool.query(script);
    },
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[],
          execute: async (text: string, params?: unknown[]) => (await client.query(text, params)).rowCount ?? 0,
          exec: async (script: string) => {
            await client.query(script);
          },
          copyFrom: async (copyStatement: string, rows: Iterable<string>) => {
            const stream = client.query(copyFrom(copyStatement));
            await pipeline(Readable.from(rows), stream);
            return stream.rowCount ?? 0;
          },
        });
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        // A client whose connection broke is not returned to the pool.
        client.release(err as Error);
        throw err;
      }
    },
    async withSessionLock<T>(lockId: number, work: () => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [lockId]);
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
      try {
        return await work();
      } finally {
        // Unlocking fails only when the connection broke, which released the lock anyway.
        const unlocked = await client.query('SELECT pg_advisory_unlock($1)', [lockId]).then(() => true, () => false);
        client.release(unlocked ? undefined : new Error('connection lost while holding an advisory lock'));
      }
    },
    close: () => pool.end(),
  };
}

/** Embedded PostgreSQL (WASM) persisted in `dataDir`; `undefined` keeps it in memory. */
export async function createPgliteClient(dataDir: string | undefined): Promise<SqlClient> {
  const db = await PGlite.create(dataDir);
  return {
    kind: 'pglite',
    async query<R>(text: string, params?: unknown[]) {
      return (await db.query<R>(text, params)).rows;
    },
    async execute(text: string, params?: unknown[]) {
      return (await db.query(text, params)).affectedRows ?? 0;
    },
    async exec(script: string) {
      await db.exec(script);
    },
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>) {
      return db.transaction(async (tx) =>
        work({
          query: async <R>(text: string, params?: unknown[]) => (await tx.query<R>(text, params)).rows,
          execute: async (text: string, params?: unknown[]) => (await tx.query(text, params)).affectedRows ?? 0,
          exec: async (script: string) => {
            await tx.exec(script);
          },
        }),
      );
    },
    // One embedded database belongs to one process, whose callers already serialise such work.
    withSessionLock: <T>(_lockId: number, work: () => Promise<T>) => work(),
    close: () => db.close(),
  };
}
