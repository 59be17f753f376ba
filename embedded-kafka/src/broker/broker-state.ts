import { ConsumerGroup } from '../group/consumer-group.ts';
import { OffsetStore } from '../group/offset-store.ts';
import { TopicStore, type Topic } from '../log/topic-store.ts';
import { TransactionCoordinator } from '../txn/transaction-coordinator.ts';
import { AppendSignal } from './append-signal.ts';
import type { ResolvedBrokerOptions } from './options.ts';

/** This broker's node id: a single-node cluster, which is its own controller and every partition's leader. */
export const NODE_ID = 1;

/** Everything a request handler may touch: the logs, the groups, the committed offsets. */
export class BrokerState {
  readonly topics: TopicStore;
  readonly offsets: OffsetStore;
  readonly appends = new AppendSignal();
  readonly transactions: TransactionCoordinator;
  readonly clusterId = 'choreoscope-embedded';
  private groups = new Map<string, ConsumerGroup>();
  /** The port is known only once the server listens. */
  port = 0;

  constructor(readonly options: ResolvedBrokerOptions) {
    this.topics = new TopicStore(options.dataDir);
    this.offsets = new OffsetStore(options.dataDir);
    this.transactions = new TransactionCoordinator(this.topics, this.offsets, this.appends, (line) => this.log(line));
    this.transactions.abortInDoubt();
  }

  log(line: string): void {
    this.options.log(line);
  }

  group(groupId: string): ConsumerGroup {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new ConsumerGroup(groupId, { initialRebalanceDelayMs: this.options.initialRebalanceDelayMs }, (line) => this.log(line));
      this.groups.set(groupId, group);
    }
    return group;
  }

  existingGroup(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  /** A topic by name, created with the default partition count when auto-creation allows it. */
  topicForUse(name: string, allowCreate: boolean): Topic | undefined {
    const topic = this.topics.get(name);
    if (topic || !allowCreate || !this.options.autoCreateTopics) return topic;
    this.log(`auto-created topic ${name} with ${this.options.defaultPartitions} partition(s)`);
    return this.topics.create(name, this.options.defaultPartitions);
  }

  close(): void {
    for (const group of this.groups.values()) group.close();
    this.transactions.close();
    this.topics.close();
    this.offsets.close();
  }
}
