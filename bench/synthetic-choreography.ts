// A choreography of `chains` independent chains of `length` events, as GET /api/model and GET /api/catalog
// would answer it: each event handled by the next service, which sends the next event. For the
// dashboard's benchmarks.
import type { ApiLatency, ApiModelStep, CatalogResponse, ModelResponse } from '../collector/src/api/types.ts';

const latency: ApiLatency = { count: 100, p50Ms: 30, p90Ms: 40, p99Ms: 60, p999Ms: 80 };

/** `chains` independent chains of `length` events, each handled by the next service, which sends the next event. */
export function syntheticChoreography(chains: number, length: number): { model: ModelResponse; catalog: CatalogResponse } {
  const steps: ApiModelStep[] = [];
  for (let c = 0; c < chains; c += 1) {
    for (let k = 0; k < length; k += 1) {
      steps.push({
        eventType: `Event${c}x${k}`, producers: [{ service: `service${c}x${k}`, count: 100 }], occurrences: 100, trusted: true,
        terminal: k === length - 1 ? 'completed' : null, endedHere: k === length - 1 ? 100 : 0,
        consumers: [{
          group: `service${c}x${k + 1}`, service: `service${c}x${k + 1}`, count: 100, probability: 1, awaited: true, wait: latency, untilHandled: latency,
          handling: latency, attempts: 100, failedAttempts: 0, handled: 100, sentNext: k === length - 1 ? 0 : 100, awaitsSend: false,
        }],
        transitions: k === length - 1 ? [] : [{ eventType: `Event${c}x${k + 1}`, count: 100, probability: 1, latency }],
      });
    }
  }
  const model: ModelResponse = { savedAtMs: null, windowMs: 3_600_000, minSamples: 20, expectProbability: 0.9, steps };
  const catalog: CatalogResponse = {
    atMs: 0, rateWindowMs: 60_000,
    events: steps.map((s) => ({
      eventType: s.eventType, topics: ['t'], producers: [{ service: s.producers[0]!.service, spans: 100, lastSeenMs: 0 }],
      consumers: s.consumers.map((c) => ({ service: c.service, consumerGroup: c.group, spans: 100, lastSeenMs: 0 })), attributeKeys: [],
      produced: 100, consumed: 100, ratePerSecond: 1, firstSeenMs: 0, lastSeenMs: 0,
    })),
  };
  return { model, catalog };
}

