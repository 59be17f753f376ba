/**
 * An alert receiver on loopback for the tests: it keeps every body and idempotency key it is sent and
 * answers as `answer` says (by default 200; it may answer 500, or never).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackReceiver {
  url: string;
  bodies: unknown[];
  keys: (string | undefined)[];
  attempts(): number;
  /** The `id` of each JSON body received (the webhook's notification id). */
  ids(): string[];
  close(): Promise<void>;
}

export async function loopbackReceiver(answer: (attempt: number, response: ServerResponse) => void = (_, r) => r.end('ok')): Promise<LoopbackReceiver> {
  const bodies: unknown[] = [];
  const keys: (string | undefined)[] = [];
  let attempts = 0;
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      attempts += 1;
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      keys.push(request.headers['idempotency-key'] as string | undefined);
      answer(attempts, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    keys,
    attempts: () => attempts,
    ids: () => (bodies as { id: string }[]).map((body) => body.id),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
