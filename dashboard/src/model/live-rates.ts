/** Events per second per key over a sliding window, from the live feed's counts (pure: `now` passed in). */
export interface LiveRates {
  add(key: string, count: number, nowMs: number): void;
  perSecond(key: string, nowMs: number): number;
}

/** Counts kept per second, so memory stays bounded by the window whatever the traffic. */
export function liveRates(windowMs: number): LiveRates {
  const buckets = new Map<string, Map<number, number>>();
  const prune = (counts: Map<number, number>, nowMs: number) => {
    const oldest = Math.floor((nowMs - windowMs) / 1_000);
    for (const second of counts.keys()) if (second <= oldest) counts.delete(second);
  };
  return {
    add(key, count, nowMs) {
      const counts = buckets.get(key) ?? new Map<number, number>();
      const second = Math.floor(nowMs / 1_000);
      counts.set(second, (counts.get(second) ?? 0) + count);
      prune(counts, nowMs);
      buckets.set(key, counts);
    },
    perSecond(key, nowMs) {
      const counts = buckets.get(key);
      if (counts === undefined) return 0;
      prune(counts, nowMs);
      let total = 0;
      for (const count of counts.values()) total += count;
      return total / (windowMs / 1_000);
    },
  };
}
