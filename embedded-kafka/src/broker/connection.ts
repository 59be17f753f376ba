import type { Socket } from 'node:net';
import { ErrorCode } from '../protocol/errors.ts';
import { MalformedInputError, Reader } from '../protocol/reader.ts';
import { decode, encode } from '../protocol/schema.ts';
import { Writer } from '../protocol/writer.ts';
import { ApiVersionsResponse } from '../protocol/apis/api-versions.ts';
import { API_TABLE, API_VERSIONS_KEY } from '../handlers/api-table.ts';
import { advertised } from '../handlers/api-versions.ts';
import type { BrokerState } from './broker-state.ts';

/** Frames read ahead of the one being handled before the socket stops reading (memory bound). */
const MAX_QUEUED_FRAMES = 32;
const QUIET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * One client connection: splits the byte stream into size-prefixed frames and handles them strictly one
 * after another, so responses leave in request order as the protocol requires, even when a fetch
 * long-polls. A frame that does not decode closes this connection and nothing else.
 */
export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private queue: Buffer[] = [];
  private busy = false;
  private closed = false;
  private readonly peer: string;

  constructor(private readonly socket: Socket, private readonly state: BrokerState) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!QUIET_ERRORS.has(error.code ?? '')) state.log(`connection ${this.peer}: ${error.message}`);
    });
    socket.on('close', () => {
      this.closed = true;
      this.queue = [];
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.flatten();
      const size = head.readInt32BE(0);
      if (size <= 0 || size > this.state.options.maxRequestBytes) {
        this.abandon(`frame size ${size} outside 1-${this.state.options.maxRequestBytes}`);
        return;
      }
      if (this.buffered < size + 4) return;
      const all = this.flatten();
      this.queue.push(all.subarray(4, size + 4));
      const rest = all.subarray(size + 4);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    if (this.queue.length >= MAX_QUEUED_FRAMES) this.socket.pause();
    void this.drainQueue();
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0]!;
  }

  private async drainQueue(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const frame = this.queue.shift()!;
        if (this.queue.length < MAX_QUEUED_FRAMES / 2) this.socket.resume();
        await this.handle(frame);
        if (this.socket.writableNeedDrain) await new Promise((resolve) => this.socket.once('drain', resolve));
      }
    } finally {
      this.busy = false;
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    const reader = new Reader(frame);
    let apiKey = -1;
    let apiVersion = -1;
    try {
      apiKey = reader.int16();
      apiVersion = reader.int16();
      const correlationId = reader.int32();
      const clientId = reader.nullableString() ?? '';
      const api = API_TABLE.get(apiKey);
      if (!api || apiVersion < api.minVersion || apiVersion > api.maxVersion) {
        this.unsupported(apiKey, apiVersion, correlationId, clientId);
        return;
      }
      const request = decode(api.request, apiVersion, reader);
      const response = await api.handle(request, { state: this.state, apiVersion, clientId });
      if (response === null || this.closed) return;
      const body = new Writer();
      encode(api.response, apiVersion, response, body);
      this.send(correlationId, body);
    } catch (error) {
      if (error instanceof MalformedInputError) {
        this.abandon(`malformed request (api ${apiKey} v${apiVersion}): ${error.message}`);
      } else {
        this.abandon(`internal error handling api ${apiKey} v${apiVersion}: ${(error as Error).stack}`);
      }
    }
  }

  /**
   * An API or version we do not serve. ApiVersions gets the protocol's prescribed answer (a v0 response
   * with UNSUPPORTED_VERSION and our ranges, so the client can retry with a version we know); any other
   * request gets a response whose body is the UNSUPPORTED_VERSION error code, and the connection stays up.
   */
  private unsupported(apiKey: number, apiVersion: number, correlationId: number, clientId: string): void {
    this.state.log(`client ${clientId || this.peer} sent api ${apiKey} v${apiVersion}, which this broker does not support`);
    const body = new Writer();
    if (apiKey === API_VERSIONS_KEY) {
      encode(ApiVersionsResponse, 0, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: advertised([...API_TABLE.values()]) }, body);
    } else {
      body.int16(ErrorCode.UNSUPPORTED_VERSION);
    }
    this.send(correlationId, body);
  }

  private send(correlationId: number, body: Writer): void {
    const head = Buffer.allocUnsafe(8);
    head.writeInt32BE(body.length + 4, 0);
    head.writeInt32BE(correlationId, 4);
    this.socket.cork();
    this.socket.write(head);
    for (const chunk of body.toChunks()) this.socket.write(chunk);
    this.socket.uncork();
  }

  /** Closes this connection because of what it sent; the broker and other clients carry on. */
  private abandon(reason: string): void {
    this.state.log(`closing connection ${this.peer}: ${reason}`);
    this.closed = true;
    this.queue = [];
    this.chunks = [];
    this.socket.destroy();
  }
}
