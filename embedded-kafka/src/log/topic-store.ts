import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PartitionLog } from './partition-log.ts';

export interface Topic {
  name: string;
  partitions: PartitionLog[];
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const SEGMENT_FILE = '00000000000000000000.log';

/** Why a topic name is illegal, as Kafka's own rules say, or null when it is fine. */
export function topicNameProblem(name: string): string | null {
  if (name === '.' || name === '..') return `topic name "${name}" is reserved`;
  if (!LEGAL_TOPIC.test(name)) return `topic name "${name.slice(0, 300)}" must be 1-249 characters of [a-zA-Z0-9._-]`;
  return null;
}

/**
 * All topics of the broker. On disk (when a data directory is given) it uses Kafka's own layout:
 * one directory per partition named `<topic>-<partition>`, holding the partition's log.
 */
export class TopicStore {
  private topics = new Map<string, Topic>();

  constructor(private readonly dataDir?: string) {
    if (dataDir) this.load(dataDir);
  }

  private load(dataDir: string): void {
    mkdirSync(dataDir, { recursive: true });
    const found = new Map<string, number[]>();
    for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
      const match = /^(.+)-(\d+)$/.exec(entry.name);
      if (!entry.isDirectory() || !match || topicNameProblem(match[1]!) !== null) continue;
      const partitions = found.get(match[1]!) ?? [];
      partitions.push(Number(match[2]));
      found.set(match[1]!, partitions);
    }
    for (const [name, partitions] of found) {
      const count = Math.max(...partitions) + 1;
      this.topics.set(name, { name, partitions: Array.from({ length: count }, (_, p) => this.openLog(name, p)) });
    }
  }

  private openLog(topic: string, partition: number): PartitionLog {
    if (!this.dataDir) return new PartitionLog(topic, partition);
    const dir = join(this.dataDir, `${topic}-${partition}`);
    mkdirSync(dir, { recursive: true });
    return new PartitionLog(topic, partition, join(dir, SEGMENT_FILE));
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  list(): Topic[] {
    return [...this.topics.values()];
  }

  create(name: string, partitionCount: number): Topic {
    const topic = { name, partitions: Array.from({ length: partitionCount }, (_, p) => this.openLog(name, p)) };
    this.topics.set(name, topic);
    return topic;
  }

  delete(name: string): boolean {
    const topic = this.topics.get(name);
    if (!topic) return false;
    this.topics.delete(name);
    for (const log of topic.partitions) {
      log.close();
      if (this.dataDir) {
        const dir = join(this.dataDir, `${name}-${log.partition}`);
        if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      }
    }
    return true;
  }

  close(): void {
    for (const topic of this.topics.values()) for (const log of topic.partitions) log.close();
  }
}
