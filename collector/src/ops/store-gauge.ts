/**
 * A gauge counted from the store when /metrics is read (flows by state, alerts firing): the counts are
 * the database's, so every collector on it answers the same. A store slow to answer (or held by a
 * transaction) leaves the last counts, and a scrape waits 500 ms at most; scrapes that overlap share one
 * count.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Gauge, type Registry } from 'prom-client';

export type CountByLabel = () => Promise<Record<string, number>>;

export class StoreGauge {
  #count: CountByLabel | null = null;
  #counting: Promise<void> | null = null;

  constructor(registry: Registry, name: string, help: string, label: string, values: readonly string[]) {
    const gauge: Gauge = new Gauge({
      name, help, labelNames: [label], registers: [registry],
      collect: async () => {
        const count = this.#count;
        if (count === null) return;
        this.#counting ??= count().then((counts) => {
          for (const value of values) gauge.set({ [label]: value }, counts[value] ?? 0);
        }, () => {}).finally(() => {
          this.#counting = null;
        });
        await Promise.race([this.#counting, sleep(500, undefined, { ref: false })]);
      },
    });
  }

  /** How to count (set by the server once it has a store); until then the gauge shows nothing. */
  countWith(count: CountByLabel): void {
    this.#count = count;
  }
}
