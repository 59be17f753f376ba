/** Messages tracked at once; past this the oldest are forgotten (their next retry counts from 1). */
const MAX_TRACKED = 10_000;

/**
 * Counts deliveries of the same message (topic, partition, offset) to one consumer: kafkajs redelivers
 * a message whose handler threw, and the retry should be recognisable as a retry. Forgotten on success.
 */
export class DeliveryAttempts {
  private attempts = new Map<string, number>();

  next(topic: string, partition: number, offset: string): number {
    const key = `${topic}\u0000${partition}\u0000${offset}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.delete(key); // re-insert: Map order is then least recently delivered first
    this.attempts.set(key, attempt);
    if (this.attempts.size > MAX_TRACKED) this.attempts.delete(this.attempts.keys().next().value!);
    return attempt;
  }

  succeeded(topic: string, partition: number, offset: string): void {
    this.attempts.delete(`${topic}\u0000${partition}\u0000${offset}`);
  }
}
