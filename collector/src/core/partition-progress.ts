/**
 * Where each consumer group has got in each Kafka partition it reads, from the handlings seen: evidence
 * that a group went past a message without handling it. Kafka hands a group a partition's messages in
 * offset order, so a group seen handling a later offset has received this one; if no handling of it
 * arrives, it was passed over (an offset committed unprocessed, a reset to the latest offset, a seek, a
 * handler the consumer stopped waiting for), not merely slow. stalls.ts judges with it; flows waiting on a
 * message register here, so that the handling that passes them wakes them (takeWoken).
 *
 Only a group seen reading in order is judged so (`sequential`): one whose handling of a later offset
 * (almost) never began before the handling of an earlier one ended, as kafkajs' eachMessage and most
 * consumers read a partition. A group that handles a batch's messages side by side, or by key in lanes
 * of its own, may handle a later offset first; for it a later handling proves nothing, and its flows are
 * judged by time alone.
 *
 * Kept in memory and bounded: after a restart it fills again from the spans that arrive, and until then
 * flows are judged by time alone.
 */

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
  /** Groups × partitions kept at most; past it the least recently seen go. Default 10_000 (14 MiB at most, bench/stalls.bench.ts). */
  maxPartitions?: number;
  /** Flows waiting on one group's partition at most (some 20 bytes each); past it more are judged by time alone. Default 10_000. */
  maxWaitingPerPartition?: number;
  /** Handlings compared with their neighbours before a group may be taken as reading in order. Default 1_000. */
  sequentialMinSamples?: number;
  /**
   * The share of them that may overlap a later offset's handling, all the same: a rebalance redelivers
   * what another member may have gone past. Default 0.001.
   */
  sequentialMaxOverlap?: number;
}

interface Handled {
  offset: string;
  startMs: number;
  endMs: number;
}

interface PartitionState {
  /** The latest handlings seen, oldest first as they arrived. */
  handled: Handled[];
  /** Flows waiting for a message of the partition: `flowId` → the offset each waits for. */
  waiting: Map<string, string>;
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

export class PartitionProgress {
  readonly #kept: number;
  readonly #maxPartitions: number;
  readonly #maxWaiting: number;
  readonly #sequentialMinSamples: number;
  readonly #sequentialMaxOverlap: number;
  /** By `group\0topic/partition`, least recently seen first. */
  readonly #partitions = new Map<string, PartitionState>();
  readonly #order = new Map<string, GroupOrder>();
  readonly #woken = new Set<string>();

  constructor(options: PartitionProgressOptions = {}) {
    this.#kept = options.keptPerPartition ?? 16;
    this.#maxPartitions = options.maxPartitions ?? 10_000;
    this.#maxWaiting = options.maxWaitingPerPartition ?? 10_000;
    this.#sequentialMinSamples = options.sequentialMinSamples ?? 1_000;
    this.#sequentialMaxOverlap = options.sequentialMaxOverlap ?? 0.001;
  }

  /** A handling (any attempt, failed ones included) of the message by the group, from its consumer span. */
  observe(group: string, message: string, startMs: number, endMs: number): void {
    const place = placeOf(message);
    if (place === null) return;
    const state = this.#state(group, place.partition, true)!;
    // did a later offset's handling begin before an earlier one's ended? (compared with the handlings kept)
    let overlapped = false;
    for (const other of state.handled) {
      const order = compareOffsets(other.offset, place.offset);
      if (order === 0) continue;
      const [earlier, later] = order < 0 ? [other, { startMs, endMs }] : [{ startMs, endMs }, other];
      if (later.startMs + CLOCK_STEP_MS < earlier.endMs) overlapped = true;
    }
    if (state.handled.length > 0) {
      const order = this.#order.get(group) ?? { compared: 0, overlapping: 0 };
      order.compared += 1;
      if (overlapped) order.overlapping += 1;
      // the older half forgotten, over and over: a group that starts handling side by side stops
      // counting as reading in order within a few overlaps, whatever its history
      if (order.compared >= 2 * this.#sequentialMinSamples) [order.compared, order.overlapping] = [order.compared / 2, order.overlapping / 2];
      this.#order.set(group, order);
    }
    state.handled.push({ offset: place.offset, startMs, endMs });
    if (state.handled.length > this.#kept) state.handled.shift();
    for (const [flowId, offset] of state.waiting) {
      const order = compareOffsets(offset, place.offset);
      if (order > 0) continue;
      state.waiting.delete(flowId);
      // its own message handled: it waits no more; an earlier one: it may have been passed over
      if (order < 0) this.#woken.add(flowId);
    }
  }

  /**
   * The earliest-starting handling by `group` of a later message of the partition than `message`'s, begun
   * no earlier than `notBeforeMs` (the message's sending: a later offset cannot be handled before it, so one
   * that seems to is a clock apart or a recreated topic, and proves nothing). Null when none is known.
   */
  laterHandling(group: string, message: string, notBeforeMs: number): LaterHandling | null {
    const place = placeOf(message);
    if (place === null) return null;
    const state = this.#state(group, place.partition, false);
    if (state === null) return null;
    let found: LaterHandling | null = null;
    for (const handled of state.handled) {
      if (compareOffsets(handled.offset, place.offset) <= 0 || handled.startMs + CLOCK_STEP_MS < notBeforeMs) continue;
      if (found === null || handled.startMs < found.startMs) found = { offset: handled.offset, startMs: handled.startMs };
    }
    return found;
  }

  /** How the group's handlings of a partition's neighbouring offsets were seen to overlap; null before any were compared. */
  orderOf(group: string): GroupOrder | null {
    return this.#order.get(group) ?? null;
  }

  /** The group reads its partitions in order, as far as seen: a later handling's start proves an earlier message received and done with. */
  sequential(group: string): boolean {
    const order = this.#order.get(group);
    return order !== undefined && order.compared >= this.#sequentialMinSamples && order.overlapping <= order.compared * this.#sequentialMaxOverlap;
  }

  /** A flow waits for `group` to handle `message`: woken when the group is seen handling a later offset of its partition. */
  await(flowId: string, group: string, message: string): void {
    const place = placeOf(message);
    if (place === null) return;
    const state = this.#state(group, place.partition, true)!;
    if (state.waiting.size >= this.#maxWaiting && !state.waiting.has(flowId)) return;
    state.waiting.set(flowId, place.offset);
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
    state = { handled: [], waiting: new Map() };
    this.#partitions.set(key, state);
    if (this.#partitions.size > this.#maxPartitions) this.#partitions.delete(this.#partitions.keys().next().value!);
    return state;
  }
}
