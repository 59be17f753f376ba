/**
 * Wakes fetches that are long-polling for data: a fetch waits on the partitions it asked for, an append
 * to any of them (or the fetch's own deadline) ends the wait. No polling loop.
 */
export class AppendSignal {
  private waiters = new Map<string, Set<() => void>>();

  notify(topic: string, partition: number): void {
    const key = `${topic}:${partition}`;
    const waiting = this.waiters.get(key);
    if (!waiting) return;
    this.waiters.delete(key);
    for (const wake of waiting) wake();
  }

  /** Resolves on the first append to any of `partitions`, or after `timeoutMs`. */
  waitForAppend(partitions: { topic: string; partition: number }[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const keys = partitions.map((p) => `${p.topic}:${p.partition}`);
      const wake = () => {
        clearTimeout(timer);
        for (const key of keys) this.waiters.get(key)?.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      for (const key of keys) {
        let set = this.waiters.get(key);
        if (!set) this.waiters.set(key, (set = new Set()));
        set.add(wake);
      }
    });
  }
}
