/**
 * GET /api/live: the live feed as server-sent events, for the dashboard. Each committed round of assembly
 * is told as it commits, on every collector of the database (store/live-feed.ts): `flows` (flows written:
 * id, state, last event, span count, event types), `removed` (flow ids merged into others), `alerts`
 * (alerts that fired, changed or resolved), `traffic` (events newly seen sent or handled, per edge of the
 * choreography), and `resync` when the collector's listening connection was lost and changes may have been
 * missed. `?flowId=` narrows it to one flow. A client too slow to read is cut off rather than buffered for
 * (it reconnects, as EventSource does, and reads the API again).
 */
import type { FastifyInstance } from 'fastify';
import type { LiveChange } from '../store/live-channel.ts';
import type { LiveMessage } from '../store/live-feed.ts';
import type { SpanStore } from '../store/store.ts';
import type { LiveAlert, LiveFlow, LiveTraffic } from './types.ts';
import { flowIdParameter } from './flow-schemas.ts';
import { errorResponses, queryString } from './schemas.ts';

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Bytes a client may leave unread before it is cut off. */
const MAX_UNREAD_BYTES = 1024 * 1024;

export async function liveRoutes(app: FastifyInstance, options: { store: SpanStore; heartbeatMs?: number }): Promise<void> {
  const streams = new Set<() => void>();
  // an open stream would hold the server's close for ever: each ends when it closes
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  app.get<{ Querystring: { flowId?: string } }>('/api/live', {
    schema: {
      tags: ['flows'],
      summary: 'The live feed (server-sent events)',
      description: '`text/event-stream`: events `hello` (on connecting), `flows`, `removed`, `alerts`, `traffic` and `resync`, each a JSON '
        + '`data` line (types.ts, LiveEvent). With `flowId`, only what concerns that flow. Send the API token in the Authorization header '
        + '(a fetch stream, not EventSource, which cannot).',
      querystring: queryString({ flowId: { ...flowIdParameter, description: 'only this flow' } }),
      response: { 200: { description: 'an event stream, open until either side closes it', type: 'string' }, ...errorResponses() },
    },
  }, async (request, reply) => {
    const flowId = request.query.flowId?.toLowerCase();
    const raw = reply.raw;
    // heard before anything is awaited: a client gone while the feed starts listening must not leave a subscription behind
    let ended = false;
    let end = () => {
      ended = true;
    };
    raw.on('close', () => end());
    const pending: string[] = [];
    let write: ((text: string) => void) | null = null;
    const send = (text: string) => (write === null ? pending.push(text) : write(text));
    // listening before the answer starts: nothing committed after the client connected is missed
    const unsubscribe = await options.store.live.subscribe((message) => {
      const text = eventsOf(message, flowId);
      if (text !== '') send(text);
    });
    reply.hijack();
    if (ended) return unsubscribe();

    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value); // the request id
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no', // nginx: pass each event on at once
    });
    const heartbeat = setInterval(() => send(': ping\n\n'), options.heartbeatMs ?? HEARTBEAT_MS);
    end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    streams.add(end);
    write = (text) => {
      if (ended) return;
      if (raw.writableLength > MAX_UNREAD_BYTES) return end();
      raw.write(text);
    };
    write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ atMs: Date.now(), flowId: flowId ?? null })}\n\n`);
    for (const text of pending.splice(0)) write(text);
  });
}

/** The SSE text of one message, as the client's filter sees it ('' when nothing in it concerns the client). */
function eventsOf(message: LiveMessage, flowId: string | undefined): string {
  if (message.kind === 'resync') return `event: resync\ndata: {}\n\n`;
  const change: LiveChange = message.change;
  const parts: string[] = [];
  const event = (name: string, data: unknown) => parts.push(`event: ${name}\ndata: ${JSON.stringify({ atMs: change.atMs, [name]: data })}\n\n`);
  // typed as the API's: the compiler holds the feed's shapes to what the dashboard reads
  const flows: LiveFlow[] = flowId === undefined ? change.flows : change.flows.filter((flow) => flow.flowId === flowId);
  const alerts: LiveAlert[] = change.alerts;
  const traffic: LiveTraffic[] = change.traffic;
  const removed = flowId === undefined ? change.removed : change.removed.filter((id) => id === flowId);
  if (flows.length > 0) event('flows', flows);
  if (removed.length > 0) event('removed', removed);
  if (flowId === undefined && alerts.length > 0) event('alerts', alerts);
  if (flowId === undefined && traffic.length > 0) event('traffic', traffic);
  return parts.join('');
}
