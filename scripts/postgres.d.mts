// Types of scripts/postgres.mjs, for the TypeScript tests that start a cluster of their own.

export const POSTGRES_VERSION: string;

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:PORT/DATABASE, trust authentication. */
  url: string;
  port: number;
  /** The temp directory holding the data directory, the server's log and its unix socket. */
  dir: string;
  /** Stops the server, keeping its data: 'fast' (clients told, a checkpoint) or 'immediate' (as a crash). */
  stop(mode?: 'fast' | 'immediate'): void;
  /** Starts the stopped server again, on the same port. */
  start(): void;
  /** Stops the server at once and deletes the directory; synchronous and quiet, for 'exit' handlers. */
  remove(): void;
}

export function findPostgresBinDir(): string | undefined;
export function ensurePostgres(options?: { install?: boolean; log?: (line: string) => void }): string;
export function startPostgresCluster(options?: { database?: string; install?: boolean; log?: (line: string) => void }): Promise<PostgresCluster>;
