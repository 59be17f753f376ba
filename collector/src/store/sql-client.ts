/**
 * The part of a SQL client the stores and the migrations need. PGlite has it as it is; a pg pool gets
 * it from postgres-store.ts. One interface, so statements, migrations and group commit are written once.
 */

export interface SqlSession {
  /** Runs statements without parameters, several in one string (a migration file). */
  exec(sql: string): Promise<unknown>;
  /** Runs one statement with `$1`… parameters. */
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

export interface SqlClient extends SqlSession {
  /** Runs `run` in one transaction: COMMIT once it resolves, ROLLBACK when it rejects (and rethrow). */
  transaction<T>(run: (tx: SqlSession) => Promise<T>): Promise<T>;
}
