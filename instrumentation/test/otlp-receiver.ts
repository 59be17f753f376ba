// A stand-in for the collector on loopback: an OTLP/HTTP endpoint that keeps every request and answers
// with the status a test sets (200, or 401 to play a collector refusing the token).
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTraceRequest, type OtlpSpan } from './otlp-protobuf.ts';

export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: Buffer;
  /** What it was answered with. */
  status: number;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** The status every request is answered with from now on. */
  status: number;
  /** The spans of the requests answered 200. */
  spans(): OtlpSpan[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { status } = receiver;
      receiver.requests.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks), status });
      res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end(); // an empty ExportTraceServiceResponse
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: [],
    status: 200,
    spans: () => receiver.requests
      .filter((request) => request.status === 200)
      .flatMap((request) => decodeTraceRequest(request.body).flatMap((resource) => resource.spans)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

/** The URL of a loopback port where nothing listens: a collector that is down. */
export async function deadCollectorUrl(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
