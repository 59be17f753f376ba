import type { Consumer } from 'kafkajs';

/** The consumer's first GROUP_JOIN (its partitions assigned); rejects after a minute without one. */
export function firstGroupJoin(consumer: Consumer): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no partitions assigned within 60 s')), 60_000);
    const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
      clearTimeout(timer);
      remove();
      resolve();
    });
  });
}
