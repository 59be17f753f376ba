import type { Consumer, Producer } from 'kafkajs';

/**
 * kafkajs does not expose a client's id, but its REQUEST instrumentation event carries it: listen for
 * the first one (sent on connect, before any message can be sent or handled) and stop listening.
 */
export function watchClientId(client: Producer | Consumer, configured: string | undefined): () => string | undefined {
  let clientId = configured;
  if (clientId === undefined) {
    // Producer and consumer declare `on` with different overload sets; REQUEST is the same event on both.
    const on = client.on as (event: string, listener: (event: { payload: { clientId: string } }) => void) => () => void;
    const stop = on.call(client, client.events.REQUEST, (event) => {
      clientId = event.payload.clientId;
      stop();
    });
  }
  return () => clientId;
}
