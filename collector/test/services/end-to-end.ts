/**
 * What the end-to-end flow tests share: an embedded broker with the choreography's topics and a real
 * collector (PGlite) for the file's tests, the service processes they start (killed after, if still
 * running), and a way to read the API.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import type { ServerOptions } from '../../src/server.ts';
import { send, startCollector, type RunningCollector } from '../helpers.ts';
import { pgliteStores } from '../stores.ts';
import type { ServiceRun } from './run-service.ts';

export interface EndToEnd {
  readonly broker: RunningBroker;
  readonly collector: RunningCollector;
  /** Service processes started by the test: pushed here, they are killed after the file's tests. */
  readonly services: ServiceRun[];
  getJson<T>(path: string): Promise<T>;
}

/** Topics by name with their partition counts. */
export function useBrokerAndCollector(topics: Record<string, number>, server: Omit<ServerOptions, 'store'> = {}): EndToEnd {
  const state = { services: [] as ServiceRun[] } as { broker: RunningBroker; collector: RunningCollector; services: ServiceRun[] };
  before(async () => {
    state.broker = await startBroker({ log: () => {} });
    for (const [topic, partitions] of Object.entries(topics)) state.broker.createTopic(topic, partitions);
    state.collector = await startCollector(pgliteStores, { server });
  });
  after(async () => {
    for (const service of state.services) service.kill();
    await state.collector.close();
    await state.broker.stop();
  });
  return {
    get broker() {
      return state.broker;
    },
    get collector() {
      return state.collector;
    },
    services: state.services,
    async getJson<T>(path: string): Promise<T> {
      const answer = await send(`${state.collector.url}${path}`, {});
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
      return answer.json as T;
    },
  };
}
