/**
 * The span store on a PostgreSQL server, through a pg connection pool: the same statements, migrations
 * and group commit as the PGlite store (sql-span-store.ts), with the server's durability (a COMMIT
 * that returned is on disk, with the server's default fsync and synchronous_commit).
 *
 * While the server is down every write and read fails as unavailable (ingest answers 503 with
 * Retry-After) and nothing is acknowledged; the pool drops the connections it lost and opens new ones
 * on demand, so the store recovers by itself when the server is back.
 */
import pg from 'pg';
import type { AssemblySession } from './flow-store.ts';
import { assemblySession } from './flow-tables.ts';
import { migrate } from './migrate.ts';
import type { SqlClient, SqlSession } from './sql-client.ts';
import { createSqlSpanStore, type SqlSpanStore, type SqlSpanStoreOptions } from './sql-span-store.ts';

export interface PostgresStoreOptions extends SqlSpanStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq's URL form, as pg reads it). */
  databaseUrl: string;
  /** Connections open at most; group commit uses one at a time, reads the rest. Default 10. */
  maxConnections?: number;
  /** How long opening a connection may take before the store calls the server unavailable. Default 5000. */
  connectTimeoutMs?: number;
}

export type PostgresStore = SqlSpanStore;

/** Connects, applies the pending migrations (one collector at a time), and returns the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    application_name: 'choreoscope-collector',
  });
  // an idle connection lost (the server restarted) leaves the pool; the next query opens a new one
  pool.on('error', () => {});
  const db = sqlClientOf(pool);
  try {
    await migrate(db);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const connect = { connectionString: options.databaseUrl, connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000, keepAlive: true };
  return createSqlSpanStore({
    db, close: () => pool.end(), exclusive: false, openAssembly: () => openAssembly(connect), listen: (channel, onPayload, onGap) => listen(connect, channel, onPayload, onGap),
  }, options);
}

/** Waits before opening a lost listening connection again: doubled each time, up to 30 s. */
const LISTEN_RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * LISTEN on a connection of its own (a pooled one would be handed to other queries). When the
 * connection is lost it is opened again, with a backoff, and `onGap` says notifications may have been
 * missed meanwhile. Resolves once the first LISTEN is in place; rejects when it cannot be.
 */
async function listen(config: pg.ClientConfig, channel: string, onPayload: (payload: string) => void, onGap: () => void): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const open = async (): Promise<void> => {
    const next = new pg.Client({ ...config, application_name: 'choreoscope-live' });
    next.on('error', () => {}); // 'end' follows
    next.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) onPayload(message.payload);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${channel}`);
    } catch (error) {
      await next.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      // stopped while this connection was being opened: nobody would ever close it
      await next.end().catch(() => {});
      return;
    }
    next.on('end', () => {
      client = null;
      if (!stopped) reopen();
    });
    client = next;
    failures = 0;
  };
  const reopen = () => {
    timer = setTimeout(() => {
      open().then(() => {
        if (!stopped) onGap();
      }, () => {
        failures += 1;
        if (!stopped) reopen();
      });
    }, LISTEN_RETRY_MS[Math.min(failures, LISTEN_RETRY_MS.length - 1)]);
    timer.unref();
  };
  await open();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await client?.end().catch(() => {});
  };
}

/** The advisory lock one collector per database holds while it assembles flows: "ChFlow". */
const ASSEMBLY_LOCK = 0x4368466c6f77;

/**
 * A connection of its own holding the assembly lock, or null when another collector holds it. The lock
 * is the session's: when the connection ends, however (a collector killed, a network cut), the server
 * lets it go, and every write of the session goes through that connection, so a collector that lost
 * the lock can no longer write.
 */
async function openAssembly(config: pg.ClientConfig): Promise<AssemblySession | null> {
  // a query hanging on a half-open connection fails after this, so the worker lets go and another takes over
  const client = new pg.Client({ ...config, application_name: 'choreoscope-assembler', query_timeout: 60_000 });
  let broken = false;
  client.on('error', () => (broken = true)); // surfaces as the next query's failure
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ASSEMBLY_LOCK]);
    if (!rows[0]?.locked) {
      await client.end();
      return null;
    }
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  const session: SqlSession = {
    exec: (sql) => client.query(sql),
    query: async <Row>(sql: string, params: unknown[] = []) => {
      if (broken) throw new Error('the assembly connection was lost');
      return { rows: (await client.query(sql, params)).rows as Row[] };
    },
  };
  const db: SqlClient = {
    ...session,
    async transaction<T>(run: (tx: SqlSession) => Promise<T>): Promise<T> {
      await session.query('BEGIN');
      try {
        const result = await run(session);
        await session.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
  };
  // ending the connection ends the session, and with it the lock
  return assemblySession(db, () => client.end().catch(() => {}));
}

/** Where a database URL points, without its password: for log lines and the CLI's banner. */
export function describeDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    url.password = '';
    url.searchParams.delete('password');
    return url.toString();
  } catch {
    return 'PostgreSQL (unparseable URL)';
  }
}

function sqlClientOf(pool: pg.Pool): SqlClient {
  const session = (client: pg.Pool | pg.PoolClient): SqlSession => ({
    // without parameters pg uses the simple query protocol, which takes several statements at once
    exec: (sql) => client.query(sql),
    query: async <Row>(sql: string, params: unknown[] = []) => ({ rows: (await client.query(sql, params)).rows as Row[] }),
  });
  return {
    ...session(pool),
    async transaction<T>(run: (tx: SqlSession) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // a checked-out client whose connection dies emits 'error' besides failing its query: unheard, it would crash the process
      const ignore = () => {};
      client.on('error', ignore);
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await run(session(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      } finally {
        client.off('error', ignore);
        client.release(broken); // a broken connection is closed, not reused
      }
    },
  };
}
