import { createServer, type Socket } from 'node:net';
import { BrokerState } from './broker-state.ts';
import { Connection } from './connection.ts';
import { resolveOptions, type BrokerOptions } from './options.ts';

export interface RunningBroker {
  host: string;
  port: number;
  /** `host:port`, ready for kafkajs's `brokers` list. */
  address: string;
  /** Creates a topic ahead of use (tests often want a partition count other than the default). */
  createTopic(name: string, partitions: number): void;
  /** Stops listening, closes every client connection and the data files. */
  stop(): Promise<void>;
}

/** Starts an in-process Kafka broker that real clients reach over TCP. */
export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const resolved = resolveOptions(options);
  const state = new BrokerState(resolved);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new Connection(socket, state);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => state.log(`server error: ${error.message}`));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('broker is not listening on TCP');
  state.port = address.port;
  const host = resolved.advertisedHost;
  let stopped: Promise<void> | null = null;
  return {
    host,
    port: state.port,
    address: `${host}:${state.port}`,
    createTopic(name, partitions) {
      if (!state.topics.get(name)) state.topics.create(name, partitions);
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        state.close();
      });
      return stopped;
    },
  };
}
