/**
 * Creates the demo's topics when they are missing, with six partitions each: a consumer group of two
 * instances shares the work, and each member handles its partitions side by side (auto-created topics
 * would get the broker's default, often one).
 */
import type { Kafka } from 'kafkajs';
import { TOPICS } from './events.ts';

export const PARTITIONS = 6;

export async function ensureTopics(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.values(TOPICS).filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    // Several services start at once: kafkajs answers false, not an error, for a topic another created meanwhile.
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({ topic, numPartitions: topic === TOPICS.control ? 1 : PARTITIONS })),
    });
  } finally {
    await admin.disconnect();
  }
}
