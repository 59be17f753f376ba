/**
 * The forward queue in the span store's database: exports waiting to be sent on to another OTLP
 * endpoint. Rows are added by the span store in the transaction that stores their spans (see
 * sql-span-store.ts); the forwarder (forwarding/forwarder.ts) leases, renews and removes them here.
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
  /** The oldest batch nobody holds, now held for `leaseMs`; null when none waits. */
  lease(leaseMs: number): Promise<QueuedForward | null>;
  /** Holds the batch `leaseMs` longer (before another attempt). */
  renew(id: string, leaseMs: number): Promise<void>;
  /** Lets go of the batch, to be leased again at once (a forwarder stopping with it unsent). */
  release(id: string): Promise<void>;
  /** The batch is settled (sent, refused, or given up): gone. */
  remove(id: string): Promise<void>;
  /** Deletes the oldest waiting batches until at most `maxBatches` and `maxBytes` wait; how many went. */
  trim(maxBatches: number, maxBytes: number): Promise<number>;
  size(): Promise<ForwardQueueSize>;
}

const ENQUEUE = 'INSERT INTO forward_queue (content_type, body, bytes) VALUES ($1, $2, $3)';
const WAITING = 'leased_until IS NULL OR leased_until < now()';
const LEASE = `
UPDATE forward_queue SET leased_until = now() + $1::float8 * interval '1 millisecond'
WHERE id = (SELECT id FROM forward_queue WHERE ${WAITING} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id::text AS id, content_type, body`;
const RENEW = `UPDATE forward_queue SET leased_until = now() + $2::float8 * interval '1 millisecond' WHERE id = $1::bigint`;
const RELEASE = 'UPDATE forward_queue SET leased_until = NULL WHERE id = $1::bigint';
const REMOVE = 'DELETE FROM forward_queue WHERE id = $1::bigint';
// newest first: a waiting batch survives while the newer ones and it fit both bounds
const TRIM = `
DELETE FROM forward_queue WHERE id IN (
  SELECT id FROM (
    SELECT id, row_number() OVER newest AS position, sum(bytes) OVER newest AS bytes_to_here
    FROM forward_queue WHERE ${WAITING}
    WINDOW newest AS (ORDER BY id DESC)
  ) ranked WHERE position > $1 OR bytes_to_here > $2
) RETURNING 1`;
const SIZE = `SELECT count(*)::int AS batches, coalesce(sum(bytes), 0)::float8 AS bytes FROM forward_queue WHERE ${WAITING}`;

/** Queues the batches: run in the transaction that stores their spans. */
export async function enqueueForwards(tx: SqlSession, batches: readonly ForwardBatch[]): Promise<void> {
  for (const batch of batches) await tx.query(ENQUEUE, [batch.contentType, batch.body, batch.body.length]);
}

export function createForwardQueue(db: SqlClient): ForwardQueue {
  async function run<Row>(what: string, sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return (await db.query<Row>(sql, params)).rows;
    } catch (error) {
      throw new StoreUnavailableError(`could not ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    async lease(leaseMs) {
      const [row] = await run<{ id: string; content_type: string; body: Uint8Array }>('lease a batch to forward', LEASE, [leaseMs]);
      // pg gives a Buffer, PGlite a Uint8Array: one shape for the forwarder
      return row === undefined ? null : { id: row.id, contentType: row.content_type, body: Buffer.from(row.body) };
    },
    async renew(id, leaseMs) {
      await run('renew a forward lease', RENEW, [id, leaseMs]);
    },
    async release(id) {
      await run('release a forward lease', RELEASE, [id]);
    },
    async remove(id) {
      await run('remove a forwarded batch', REMOVE, [id]);
    },
    async trim(maxBatches, maxBytes) {
      return (await run('trim the forward queue', TRIM, [maxBatches, maxBytes])).length;
    },
    async size() {
      const [row] = await run<ForwardQueueSize>('size the forward queue', SIZE, []);
      return row ?? { batches: 0, bytes: 0 };
    },
  };
}
