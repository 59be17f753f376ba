import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

interface CommitLine {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

/**
 * Committed consumer-group offsets. With a data directory every commit is appended to a JSON-lines file
 * before it is acknowledged, and the file is replayed (and compacted) on start, playing the part of
 * Kafka's `__consumer_offsets` topic.
 */
export class OffsetStore {
  private offsets = new Map<string, Map<string, CommittedOffset>>();
  private fd: number | null = null;

  constructor(dataDir?: string) {
    if (!dataDir) return;
    const dir = join(dataDir, '__consumer_offsets');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'commits.jsonl');
    if (existsSync(file)) this.replay(readFileSync(file, 'utf8'));
    // Compact: rewrite only the latest commit per partition, atomically.
    const lines = [...this.entries()].map((line) => JSON.stringify(line) + '\n').join('');
    writeFileSync(`${file}.tmp`, lines);
    renameSync(`${file}.tmp`, file);
    this.fd = openSync(file, 'a');
  }

  private replay(text: string): void {
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const c = JSON.parse(line) as CommitLine | { forgetTopic: string };
        if ('forgetTopic' in c) {
          this.dropTopic(c.forgetTopic);
          continue;
        }
        this.set(c.group, c.topic, c.partition, { offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata });
      } catch {
        // A torn last line from a crash: that commit was never acknowledged.
      }
    }
  }

  private *entries(): Generator<CommitLine> {
    for (const [group, partitions] of this.offsets) {
      for (const [key, committed] of partitions) {
        const split = key.lastIndexOf(':');
        yield { group, topic: key.slice(0, split), partition: Number(key.slice(split + 1)), ...committed };
      }
    }
  }

  private set(group: string, topic: string, partition: number, committed: CommittedOffset): void {
    let partitions = this.offsets.get(group);
    if (!partitions) this.offsets.set(group, (partitions = new Map()));
    partitions.set(`${topic}:${partition}`, committed);
  }

  commit(group: string, topic: string, partition: number, committed: CommittedOffset): void {
    if (this.fd !== null) writeSync(this.fd, JSON.stringify({ group, topic, partition, ...committed }) + '\n');
    this.set(group, topic, partition, committed);
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(group)?.get(`${topic}:${partition}`);
  }

  /** Every partition the group has committed, for OffsetFetch with a null topic list. */
  committedBy(group: string): { topic: string; partition: number; committed: CommittedOffset }[] {
    return [...this.entries()]
      .filter((line) => line.group === group)
      .map(({ topic, partition, offset, leaderEpoch, metadata }) => ({ topic, partition, committed: { offset, leaderEpoch, metadata } }));
  }

  /** Offsets of a deleted topic go with it, as in Kafka. */
  forgetTopic(topic: string): void {
    if (this.fd !== null) writeSync(this.fd, JSON.stringify({ forgetTopic: topic }) + '\n');
    this.dropTopic(topic);
  }

  private dropTopic(topic: string): void {
    for (const partitions of this.offsets.values()) {
      for (const key of partitions.keys()) if (key.slice(0, key.lastIndexOf(':')) === topic) partitions.delete(key);
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
