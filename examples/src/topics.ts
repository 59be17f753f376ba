/**
 * Creates the demo's topics when they are missing, with three partitions each so a consumer group of two
 * instances shares the work (auto-created topics would get the broker's default, often one).
 */
import type { Kafka } from 'kafkajs';
import { TOPICS } from './events.ts';

export const PARTITIONS = 3;

export async function ensureTopics(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.values(TOPICS).filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    // Several services start at once: a topic another created meanwhile is not an error.
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({ topic, numPartitions: topic === TOPICS.control ? 1 : PARTITIONS })),
    }).catch((error: { type?: string }) => {
      if (error.type !== 'TOPIC_ALREADY_EXISTS') throw error;
    });
  } finally {
    await admin.disconnect();
  }
}
