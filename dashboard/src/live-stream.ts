/**
 * GET /api/live read as a stream with fetch, since EventSource cannot send the bearer header: each
 * server-sent event handed over as it arrives; the stream reopened after a pause when it ends or fails,
 * and `resync` passed on (the views read the API again) after such a gap.
 */
import { authHeaders } from './api-client.ts';
import { askForToken, forgetToken, storedToken } from './token.ts';

export type LiveHandler = (event: string, data: unknown) => void;

export interface LiveStatus {
  connected: boolean;
}

export function openLive(path: string, onEvent: LiveHandler, onStatus: (status: LiveStatus) => void): () => void {
  const stop = new AbortController();
  void (async () => {
    let first = true;
    while (!stop.signal.aborted) {
      try {
        const response = await fetch(path, { headers: { accept: 'text/event-stream', ...authHeaders() }, signal: stop.signal });
        if (response.status === 401) {
          if (storedToken() !== null) forgetToken();
          await askForToken(false);
          continue;
        }
        if (!response.ok || response.body === null) throw new Error(`the live feed answered ${response.status}`);
        onStatus({ connected: true });
        // after a reconnection changes may have been missed: read again
        if (!first) onEvent('resync', {});
        first = false;
        await readEvents(response.body, onEvent);
      } catch {
        // ended, refused or cut: tried again below
      }
      if (stop.signal.aborted) return;
      onStatus({ connected: false });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  })();
  return () => stop.abort();
}

async function readEvents(body: ReadableStream<Uint8Array>, onEvent: LiveHandler): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length === 0) continue; // a comment (the heartbeat)
      try {
        onEvent(event, JSON.parse(data.join('\n')));
      } catch {
        // not JSON: not one of the collector's
      }
    }
  }
}
