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
  /** Up to `limit` of the oldest batches nobody holds, oldest first, now held for `leaseMs`; none when none waits. */
  lease(limit: number, leaseMs: number): Promise<QueuedForward[]>;
  /** Holds the batches `leaseMs` longer. */
  renew(ids: readonly string[], leaseMs: number): Promise<void>;
  /** Lets go of the batches, to be leased again at once (a forwarder stopping with them unsent). */
  release(ids: readonly string[]): Promise<void>;
  /** The batches are settled (sent, refused, or given up): gone. */
  remove(ids: readonly string[]): Promise<void>;
  /** Deletes the oldest waiting batches until at most `maxBatches` and `maxBytes` wait; how many went. */
  trim(maxBatches: number, maxBytes: number): Promise<number>;
  size(): Promise<ForwardQueueSize>;
}

const ENQUEUE = 'INSERT INTO forward_queue (content_type, body_base64, bytes) VALUES ($1, $2, $3)';
const WAITING = 'leased_until IS NULL OR leased_until < now()';
const LEASE = `
UPDATE forward_queue SET leased_until = now() + $2::float8 * interval '1 millisecond'
WHERE id IN (SELECT id FROM forward_queue WHERE ${WAITING} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id::text AS key, content_type, body_base64`;
// ids go in as one text of comma-separated digits: the same on pg and PGlite, whose array parameters differ
const IDS = `SELECT unnest(string_to_array($1, ','))::bigint`;
const RENEW = `UPDATE forward_queue SET leased_until = now() + $2::float8 * interval '1 millisecond' WHERE id IN (${IDS})`;
const RELEASE = `UPDATE forward_queue SET leased_until = NULL WHERE id IN (${IDS})`;
const REMOVE = `DELETE FROM forward_queue WHERE id IN (${IDS})`;
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
  for (const batch of batches) await tx.query(ENQUEUE, [batch.contentType, batch.body.toString('base64'), batch.body.length]);
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
    async lease(limit, leaseMs) {
      const rows = await run<{ key: string; content_type: string; body_base64: string }>('lease batches to forward', LEASE, [limit, leaseMs]);
      // RETURNING has no order: oldest (smallest id) first
      return rows
        .sort((a, b) => a.key.length - b.key.length || (a.key < b.key ? -1 : 1))
        .map((row) => ({ id: row.key, contentType: row.content_type, body: Buffer.from(row.body_base64, 'base64') }));
    },
    async renew(ids, leaseMs) {
      if (ids.length > 0) await run('renew forward leases', RENEW, [ids.join(','), leaseMs]);
    },
    async release(ids) {
      if (ids.length > 0) await run('release forward leases', RELEASE, [ids.join(',')]);
    },
    async remove(ids) {
      if (ids.length > 0) await run('remove forwarded batches', REMOVE, [ids.join(',')]);
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
