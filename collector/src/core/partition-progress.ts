/**
 * Where each consumer group has got in each Kafka partition it reads, from the handlings seen: evidence
 * that a group went past a message without handling it. Kafka hands a group a partition's messages in
 * offset order, so a group seen handling a later offset has received this one; if no handling of it
 * arrives, it was passed over (an offset committed unprocessed, a reset to the latest offset, a seek, a
 * handler the consumer stopped waiting for), not merely slow. stalls.ts judges with it; flows waiting on a
 * message register here, so that the handling that passes them wakes them (takeWoken).
 *
 * Only a group seen reading a topic in order is judged so (`sequential`): one whose handling of a later
 * offset (almost) never began before the handling of an earlier one ended, as kafkajs' eachMessage and
 * most consumers read a partition. A group that handles a batch's messages side by side, or by key in
 * lanes of its own, may handle a later offset first; for it a later handling proves nothing, and its flows
 * are judged by time alone. Per topic, since one group id often serves several listeners of one service.
 *
 * Kept in memory and bounded: after a restart it fills again from the spans that arrive, and until then
 * flows are judged by time alone.
 */
import TinyQueue from 'tinyqueue';

/** A message's place: the consumer group, the topic's partition (`topic/partition`), the offset's digits. */
interface Place {
  partition: string;
  offset: string;
}

/** A handling seen of a later message of the partition. */
export interface LaterHandling {
  /** Its offset (decimal digits). */
  offset: string;
  /** When its handling began, by the consumer's clock. */
  startMs: number;
}

/**
 * What is known of a group's recent handlings: how many were compared with their neighbours, and how many
 * overlapped one of a later offset (halved, both, whenever twice `sequentialMinSamples` were compared).
 */
export interface GroupOrder {
  compared: number;
  overlapping: number;
}

export interface PartitionProgressOptions {
  /** Handlings kept per group and partition, the latest (about 90 bytes each). Default 16. */
  keptPerPartition?: number;
  /** Groups × partitions kept at most; past it the least recently seen go. Default 10_000 (16 MiB at most, bench/stalls.bench.ts). */
  maxPartitions?: number;
  /** Flows waiting on one group's partition at most; past it more are judged by time alone. Default 10_000. */
  maxWaitingPerPartition?: number;
  /** Flows waiting on any partition at most (some 140 bytes each). Default 1_000_000. */
  maxWaiting?: number;
  /** Messages a group was seen going past, remembered for the flows waiting on them, at most. Default 100_000. */
  maxPassed?: number;
  /** Handlings compared with their neighbours before a group may be taken as reading a topic in order. Default 1_000. */
  sequentialMinSamples?: number;
  /** The share of them that may overlap a later offset's handling, all the same. Default 0.001. */
  sequentialMaxOverlap?: number;
}

interface Handled {
  offset: string;
  startMs: number;
  endMs: number;
}

/** A flow waiting for the group to handle `message` (at `offset`), sent at `notBeforeMs`. */
interface Waiting {
  flowId: string;
  message: string;
  offset: string;
  notBeforeMs: number;
}

interface PartitionState {
  /** The latest handlings seen, oldest first as they arrived. */
  handled: Handled[];
  /** The flows waiting on the partition, lowest offset first; and which are in it (`flowId\0offset`). */
  waiting: TinyQueue<Waiting>;
  waitingKeys: Set<string>;
}

/**
 * How far apart two times may be and still read as the same moment: SDKs often time spans in whole
 * milliseconds, so a handling of a few microseconds ends "after" the next one began in the same
 * millisecond.
 */
const CLOCK_STEP_MS = 1;

/** Orders offsets given as decimal digits without leading zeros (flow-span.ts writes them so), of any size. */
export function compareOffsets(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A message coordinate (`topic/partition/offset`, flow-span.ts) split into its partition and offset; null if it is not one. */
export function placeOf(message: string): Place | null {
  const last = message.lastIndexOf('/');
  if (last <= 0 || message.lastIndexOf('/', last - 1) <= 0) return null;
  const offset = message.slice(last + 1);
  return /^\d+$/.test(offset) ? { partition: message.slice(0, last), offset } : null;
}

/** The topic of a partition (`topic/partition`). */
const topicOf = (partition: string): string => partition.slice(0, partition.lastIndexOf('/'));

export class PartitionProgress {
  readonly #kept: number;
  readonly #maxPartitions: number;
  readonly #maxWaitingPerPartition: number;
  readonly #maxWaiting: number;
  readonly #maxPassed: number;
  readonly #sequentialMinSamples: number;
  readonly #sequentialMaxOverlap: number;
  /** By `group\0topic/partition`, least recently seen first. */
  readonly #partitions = new Map<string, PartitionState>();
  /** By `group\0topic`: whether the group reads the topic in order. */
  readonly #order = new Map<string, GroupOrder>();
  /**
   * By `group\0message`: the first handling seen past a message a flow waited on. Kept apart from the
   * handlings (which a busy partition turns over within seconds), so the flow finds it when it is judged
   * again, however many handlings came since. Oldest first.
   */
  readonly #passed = new Map<string, LaterHandling>();
  #waitingCount = 0;
  readonly #woken = new Set<string>();

  constructor(options: PartitionProgressOptions = {}) {
    this.#kept = options.keptPerPartition ?? 16;
    this.#maxPartitions = options.maxPartitions ?? 10_000;
    this.#maxWaitingPerPartition = options.maxWaitingPerPartition ?? 10_000;
    this.#maxWaiting = options.maxWaiting ?? 1_000_000;
    this.#maxPassed = options.maxPassed ?? 100_000;
    this.#sequentialMinSamples = options.sequentialMinSamples ?? 1_000;
    this.#sequentialMaxOverlap = options.sequentialMaxOverlap ?? 0.001;
  }

  /** A handling (any attempt, failed ones included) of the message by the group, from its consumer span. */
  observe(group: string, message: string, startMs: number, endMs: number): void {
    const place = placeOf(message);
    if (place === null) return;
    const state = this.#state(group, place.partition, true)!;
    if (state.handled.some((h) => h.offset === place.offset)) {
      // handled again (a retry, or a redelivery after a rebalance or a rewind): what was kept past it came
      // before the rewind, and is not compared with what comes after it
      state.handled = state.handled.filter((h) => compareOffsets(h.offset, place.offset) <= 0);
    } else if (state.handled.length > 0) {
      this.#compare(group, place, state, startMs, endMs);
    }
    state.handled.push({ offset: place.offset, startMs, endMs });
    if (state.handled.length > this.#kept) state.handled.shift();
    this.#pass(group, place, state, startMs);
  }

  /**
   * The earliest handling by `group` of a later message of the partition than `message`'s known, begun no
   * earlier than `notBeforeMs` (the message's sending: a later offset cannot be handled before it, so one
   * that seems to is a clock apart or a recreated topic, and proves nothing). Null when none is known.
   */
  laterHandling(group: string, message: string, notBeforeMs: number): LaterHandling | null {
    const place = placeOf(message);
    if (place === null) return null;
    const passed = this.#passed.get(`${group}\u0000${message}`);
    if (passed !== undefined && passed.startMs + CLOCK_STEP_MS >= notBeforeMs) return passed;
    const state = this.#state(group, place.partition, false);
    if (state === null) return null;
    let found: LaterHandling | null = null;
    for (const handled of state.handled) {
      if (compareOffsets(handled.offset, place.offset) <= 0 || handled.startMs + CLOCK_STEP_MS < notBeforeMs) continue;
      if (found === null || handled.startMs < found.startMs) found = { offset: handled.offset, startMs: handled.startMs };
    }
    return found;
  }

  /** How the group's handlings of a topic's neighbouring offsets were seen to overlap, recently; null before any were compared. */
  orderOf(group: string, topic: string): GroupOrder | null {
    return this.#order.get(`${group}\u0000${topic}`) ?? null;
  }

  /** The group reads the topic of `message` in order, as far as seen: a later handling's start proves an earlier message received and done with. */
  sequential(group: string, message: string): boolean {
    const place = placeOf(message);
    const order = place === null ? undefined : this.#order.get(`${group}\u0000${topicOf(place.partition)}`);
    return order !== undefined && order.compared >= this.#sequentialMinSamples && order.overlapping <= order.compared * this.#sequentialMaxOverlap;
  }

  /**
   * A flow waits for `group` to handle `message`, sent at `sentAtMs`: woken when the group is seen handling
   * a later offset of its partition, begun since. Only for a partition the group is known to read.
   */
  await(flowId: string, group: string, message: string, sentAtMs: number): void {
    const place = placeOf(message);
    if (place === null) return;
    const state = this.#state(group, place.partition, false);
    const key = `${flowId}\u0000${place.offset}`;
    if (state === null || state.waitingKeys.has(key)) return;
    if (state.waiting.length >= this.#maxWaitingPerPartition || this.#waitingCount >= this.#maxWaiting) return;
    state.waiting.push({ flowId, message, offset: place.offset, notBeforeMs: sentAtMs });
    state.waitingKeys.add(key);
    this.#waitingCount += 1;
  }

  /** The flows whose awaited message a later handling passed since the last call. */
  takeWoken(): string[] {
    const woken = [...this.#woken];
    this.#woken.clear();
    return woken;
  }

  get partitions(): number {
    return this.#partitions.size;
  }

  /** Did a later offset's handling begin before an earlier one's ended? Compared with the handlings kept. */
  #compare(group: string, place: Place, state: PartitionState, startMs: number, endMs: number): void {
    let overlapped = false;
    for (const other of state.handled) {
      const [earlier, later] = compareOffsets(other.offset, place.offset) < 0 ? [other, { startMs, endMs }] : [{ startMs, endMs }, other];
      if (later.startMs + CLOCK_STEP_MS < earlier.endMs) overlapped = true;
    }
    const key = `${group}\u0000${topicOf(place.partition)}`;
    const order = this.#order.get(key) ?? { compared: 0, overlapping: 0 };
    order.compared += 1;
    if (overlapped) order.overlapping += 1;
    // the older half forgotten, over and over: a group that starts handling side by side stops
    // counting as reading in order within a few overlaps, whatever its history
    if (order.compared >= 2 * this.#sequentialMinSamples) [order.compared, order.overlapping] = [order.compared / 2, order.overlapping / 2];
    this.#order.set(key, order);
  }

  /** The flows waiting on the partition up to the offset handled: done waiting, and those before it passed over. */
  #pass(group: string, place: Place, state: PartitionState, startMs: number): void {
    const notYet: Waiting[] = [];
    for (let top = state.waiting.peek(); top !== undefined && compareOffsets(top.offset, place.offset) <= 0; top = state.waiting.peek()) {
      state.waiting.pop();
      if (top.offset !== place.offset && startMs + CLOCK_STEP_MS < top.notBeforeMs) {
        notYet.push(top); // begun before the message was sent, by the clocks: proves nothing yet
        continue;
      }
      state.waitingKeys.delete(`${top.flowId}\u0000${top.offset}`);
      this.#waitingCount -= 1;
      if (top.offset === place.offset) continue; // its own message: it waits no more
      const key = `${group}\u0000${top.message}`;
      const known = this.#passed.get(key);
      if (known === undefined || startMs < known.startMs) {
        this.#passed.delete(key);
        this.#passed.set(key, { offset: place.offset, startMs });
        if (this.#passed.size > this.#maxPassed) this.#passed.delete(this.#passed.keys().next().value!);
      }
      this.#woken.add(top.flowId);
    }
    for (const waiting of notYet) state.waiting.push(waiting);
  }

  #state(group: string, partition: string, create: boolean): PartitionState | null {
    const key = `${group}\u0000${partition}`;
    let state = this.#partitions.get(key);
    if (state !== undefined) {
      if (create) {
        // least recently seen first: seen again, it goes to the end
        this.#partitions.delete(key);
        this.#partitions.set(key, state);
      }
      return state;
    }
    if (!create) return null;
    state = { handled: [], waiting: new TinyQueue<Waiting>([], (a, b) => compareOffsets(a.offset, b.offset)), waitingKeys: new Set() };
    this.#partitions.set(key, state);
    if (this.#partitions.size > this.#maxPartitions) {
      const [oldestKey, oldest] = this.#partitions.entries().next().value!;
      this.#waitingCount -= oldest.waiting.length;
      this.#partitions.delete(oldestKey);
    }
    return state;
  }
}
