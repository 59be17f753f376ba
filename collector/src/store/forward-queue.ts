/**
 * The forward queue in the span store's database: exports waiting to be sent on to another OTLP
 * endpoint. Rows are added by the span store in the transaction that stores their spans (see
 * sql-span-store.ts); the forwarder (forwarding/forwarder.ts) leases, renews, releases and removes
 * them here. A lease names its holder, so a forwarder whose lease lapsed cannot renew or release a
 * row another has leased since.
 */
import type { SqlClient, SqlSession } from './sql-client.ts';
import { StoreUnavailableError } from './store.ts';

/** An export as it arrived (inflated), to be sent on under its Content-Type. */
export interface ForwardBatch {
  body: Buffer;
  contentType: string;
}

export interface QueuedForward extends ForwardBatch {
  id: string;
}

export interface ForwardQueueSize {
  /** Batches waiting, not counting those leased by a forwarder. */
  batches: number;
  bytes: number;
}

export interface ForwardQueue {
  /**
   * Only this process uses the database (PGlite's data directory is one process's): a lease found at
   * start was left by a process that died, and can be taken back at once.
   */
  readonly exclusive: boolean;
  /**
   * The oldest waiting batches, oldest first, now leased by `holder` for `leaseMs`: up to `limit` of
   * them and `maxBytes` of bodies (always one, however large). None when none waits.
   */
  lease(holder: string, leaseMs: number, limit: number, maxBytes: number): Promise<QueuedForward[]>;
  /** Extends `holder`'s lease of these batches; returns those it still held (the others were taken back). */
  renew(holder: string, ids: readonly string[], leaseMs: number): Promise<string[]>;
  /** Lets go of `holder`'s lease of these batches, to be leased again at once. */
  release(holder: string, ids: readonly string[]): Promise<void>;
  /** Ends every lease (an exclusive database at start: their holder is gone). */
  releaseAll(): Promise<void>;
  /** The batches are settled (sent, refused, or given up): gone, whoever holds them now. */
  remove(ids: readonly string[]): Promise<void>;
  /** Deletes the oldest waiting batches until at most `maxBatches` and `maxBytes` wait; how many went. */
  trim(maxBatches: number, maxBytes: number): Promise<number>;
  size(): Promise<ForwardQueueSize>;
}

const ENQUEUE = 'INSERT INTO forward_queue (content_type, body_base64, bytes) VALUES ($1, $2, $3)';
const WAITING = 'leased_until IS NULL OR leased_until < now()';
const UNTIL = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`;
// the oldest waiting rows up to the limit, locked (others skip them), then cut at the byte budget;
// `WAITING` again outside: a row another forwarder leased while this waited for its lock is not taken
const LEASE = `
WITH candidates AS (
  SELECT id, bytes FROM forward_queue WHERE ${WAITING} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
), within_budget AS (
  SELECT id FROM (SELECT id, bytes, sum(bytes) OVER (ORDER BY id) AS running FROM candidates) c
  WHERE running - bytes < $4 OR id = (SELECT min(id) FROM candidates)
)
UPDATE forward_queue SET leased_by = $1, leased_until = ${UNTIL('$2')}
WHERE id IN (SELECT id FROM within_budget) AND (${WAITING})
RETURNING id::text AS key, content_type, body_base64`;
// ids go in as one text of comma-separated digits: the same on pg and PGlite, whose array parameters differ
const IDS = (param: string) => `SELECT unnest(string_to_array(${param}, ','))::bigint`;
const RENEW = `UPDATE forward_queue SET leased_until = ${UNTIL('$3')} WHERE leased_by = $1 AND id IN (${IDS('$2')}) RETURNING id::text AS key`;
const RELEASE = `UPDATE forward_queue SET leased_by = NULL, leased_until = NULL WHERE leased_by = $1 AND id IN (${IDS('$2')})`;
const RELEASE_ALL = 'UPDATE forward_queue SET leased_by = NULL, leased_until = NULL WHERE leased_until IS NOT NULL';
const REMOVE = `DELETE FROM forward_queue WHERE id IN (${IDS('$1')})`;
// newest first: a waiting batch survives while the newer ones and it fit both bounds. `WAITING` again
// outside: on PostgreSQL a row leased while the DELETE waited for its lock is re-checked, not deleted
const TRIM = `
DELETE FROM forward_queue WHERE (${WAITING}) AND id IN (
  SELECT id FROM (
    SELECT id, row_number() OVER newest AS position, sum(bytes) OVER newest AS bytes_to_here
    FROM forward_queue WHERE ${WAITING}
    WINDOW newest AS (ORDER BY id DESC)
  ) ranked WHERE position > $1 OR bytes_to_here > $2
) RETURNING 1`;
const SIZE = `SELECT count(*)::int AS batches, coalesce(sum(bytes), 0)::float8 AS bytes FROM forward_queue WHERE ${WAITING}`;

/** Queues the batches: run in the transaction that stores their spans. */
export async function enqueueForwards(tx: SqlSession, batches: readonly ForwardBatch[]): Promise<void> {
  for (const batch of batches) await tx.query(ENQUEUE, [batch.contentType, batch.body.toString('base64'), batch.body.length]);
}

/** Ids in the order they were queued (bigserial: shorter is smaller). */
const byQueueOrder = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

export function createForwardQueue(db: SqlClient, options: { exclusive: boolean }): ForwardQueue {
  async function run<Row>(what: string, sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return (await db.query<Row>(sql, params)).rows;
    } catch (error) {
      throw new StoreUnavailableError(`could not ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    exclusive: options.exclusive,
    async lease(holder, leaseMs, limit, maxBytes) {
      const rows = await run<{ key: string; content_type: string; body_base64: string }>(
        'lease batches to forward', LEASE, [holder, leaseMs, limit, Math.floor(maxBytes)]);
      return rows // RETURNING has no order
        .sort((a, b) => byQueueOrder(a.key, b.key))
        .map((row) => ({ id: row.key, contentType: row.content_type, body: Buffer.from(row.body_base64, 'base64') }));
    },
    async renew(holder, ids, leaseMs) {
      if (ids.length === 0) return [];
      return (await run<{ key: string }>('renew forward leases', RENEW, [holder, ids.join(','), leaseMs])).map((row) => row.key);
    },
    async release(holder, ids) {
      if (ids.length > 0) await run('release forward leases', RELEASE, [holder, ids.join(',')]);
    },
    async releaseAll() {
      await run('release forward leases', RELEASE_ALL, []);
    },
    async remove(ids) {
      if (ids.length > 0) await run('remove forwarded batches', REMOVE, [ids.join(',')]);
    },
    async trim(maxBatches, maxBytes) {
      return (await run('trim the forward queue', TRIM, [Math.floor(maxBatches), Math.floor(maxBytes)])).length;
    },
    async size() {
      const [row] = await run<ForwardQueueSize>('size the forward queue', SIZE, []);
      return row ?? { batches: 0, bytes: 0 };
    },
  };
}
