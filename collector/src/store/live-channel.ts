/**
 * The live feed's channel: what each round of assembly changed, announced with PostgreSQL's NOTIFY in
 * the round's own transaction, so a listener hears of a change exactly when it is committed, on every
 * collector of the database (PGlite and PostgreSQL alike), never of one that was rolled back. A NOTIFY
 * payload holds at most 8,000 bytes: a round's change is cut into parts that each fit.
 */
import type { AlertSeverity } from '../core/alerts.ts';
import type { CatalogEntry } from '../core/catalog.ts';
import type { FlowState } from '../core/stalls.ts';
import type { SqlSession } from './sql-client.ts';

export const LIVE_CHANNEL = 'choreoscope_live';

/** One flow as the feed tells of it: enough to move it on a map or a list; the API has the rest. */
export interface LiveFlow {
  flowId: string;
  state: FlowState;
  lastEventMs: number;
  spanCount: number;
  eventTypes: string[];
}

export interface LiveAlert {
  id: string;
  /** Pending alerts are never written, so never told of. */
  state: 'firing' | 'resolved';
  severity: AlertSeverity;
  title: string;
  flowCount: number;
}

/** Events newly seen on an edge of the choreography: sent (producer) or handled (consumer) by a service (the catalogue's delta). */
export type LiveTraffic = Pick<CatalogEntry, 'eventType' | 'destination' | 'role' | 'service' | 'consumerGroup' | 'spans'>;

/** What one round changed (or part of it). */
export interface LiveChange {
  atMs: number;
  flows: LiveFlow[];
  /** Flow ids that name no flow any more (merged into another). */
  removed: string[];
  alerts: LiveAlert[];
  traffic: LiveTraffic[];
}

export type LiveListener = (change: LiveChange) => void;

/** NOTIFY's limit is 8,000 bytes; parts stay under it with room for multi-byte characters counted as one. */
const MAX_PART_CHARS = 2_500;

/** The change as NOTIFY payloads, each under the limit (a flow or alert too long alone is left out). */
export function livePayloads(change: LiveChange): string[] {
  const parts: string[] = [];
  let part: LiveChange = { atMs: change.atMs, flows: [], removed: [], alerts: [], traffic: [] };
  let size = 0;
  const flush = () => {
    if (size > 0) parts.push(JSON.stringify(part));
    part = { atMs: change.atMs, flows: [], removed: [], alerts: [], traffic: [] };
    size = 0;
  };
  const add = <K extends 'flows' | 'removed' | 'alerts' | 'traffic'>(key: K, item: LiveChange[K][number]) => {
    const length = JSON.stringify(item).length + 1;
    if (length > MAX_PART_CHARS - 100) return;
    if (size + length > MAX_PART_CHARS - 100) flush();
    (part[key] as unknown[]).push(item);
    size += length;
  };
  for (const alert of change.alerts) add('alerts', alert);
  for (const flow of change.flows) add('flows', flow);
  for (const flowId of change.removed) add('removed', flowId);
  for (const traffic of change.traffic) add('traffic', traffic);
  flush();
  return parts;
}

const NOTIFY = `SELECT pg_notify('${LIVE_CHANNEL}', value) FROM jsonb_array_elements_text($1::text::jsonb)`;

/** Announces the change in the transaction `tx`: heard when it commits. */
export async function notifyLive(tx: SqlSession, change: LiveChange): Promise<void> {
  const payloads = livePayloads(change);
  if (payloads.length > 0) await tx.query(NOTIFY, [JSON.stringify(payloads)]);
}
