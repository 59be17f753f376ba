/**
 * Spans in, flows out: the incremental assembly of business flows. Pure: no I/O, no clock (`nowMs` is
 * passed in, and only says when a flow was last touched, for eviction).
 *
 * A flow is a connected component of spans under these joins:
 * - `parent`: a span and its parent, unless the parent is a batch span (a poll covering many orders);
 * - `link`: a span with exactly one link and the span it links to, unless that one is a batch span;
 * - `message`: spans naming the same Kafka message (topic, partition, offset): its producer and consumers;
 * - `key`: spans carrying the same business key, unless the key is shared by too many unconnected chains.
 * A batch span belongs to no flow, so spans under it join one only by a fact of their own.
 *
 * Because a flow is defined by its spans alone, spans in any order, or hours late, give the same flows:
 * a span naming one not yet seen waits on it (a pending reference), and a late span that joins two flows
 * merges them. The one exception is a key found shared: that is checked as its span count doubles, so
 * near the threshold the answer can depend on when it was checked; once shared, a key stays shared.
 *
 * The assembler holds a working set: the flows its caller loaded or that spans touched. The caller (the
 * flow worker) persists what `takeChanges` reports, loads stored flows a batch of spans refers to before
 * adding it, and evicts idle flows; the store holds every flow, so eviction loses nothing.
 */
import { MAX_BUSINESS_KEY_CHARS } from './business-key.ts';
import type { FlowId } from './flow.ts';
import type { FlowSpan } from './flow-span.ts';
import { FlowSlots } from './flow-slots.ts';
import type { BusinessKey } from './span.ts';
import { NO_ROW, SpanRows } from './span-rows.ts';

export interface AssemblerOptions {
  /**
   * A business key carried by more chains than this that nothing else connects (spans of separate
   * traces, links and messages) is shared, like a customer id or a constant: it stops joining, and the
   * flows it welded are split again. Default 32.
   */
  maxSegmentsPerKey?: number;
}

export const DEFAULT_MAX_SEGMENTS_PER_KEY = 32;

/**
 * A flow in the working set, as handed out: its id and spans, read when asked. A handle goes stale when
 * its flow is merged into another or forgotten; using it then throws.
 */
export class AssembledFlow {
  readonly #flows: FlowSlots;
  readonly #rows: SpanRows;
  readonly #generation: number;

  constructor(flows: FlowSlots, rows: SpanRows, readonly slot: number) {
    this.#flows = flows;
    this.#rows = rows;
    this.#generation = flows.generation(slot);
  }

  get id(): FlowId {
    this.#check();
    return this.#flows.id(this.slot);
  }

  get size(): number {
    this.#check();
    return this.#flows.memberCount(this.slot);
  }

  spans(): FlowSpan[] {
    this.#check();
    return this.#flows.members(this.slot).map((row) => this.#rows.spanOf(row));
  }

  #check(): void {
    if (!this.#flows.isOpen(this.slot) || this.#flows.generation(this.slot) !== this.#generation) {
      throw new Error('this flow is no longer held: it was merged into another or forgotten');
    }
  }
}

interface KeyPoint {
  /** The key, the one string every span row carrying it holds. */
  readonly key: BusinessKey;
  /** A span row carrying the key (NO_ROW: none); every carrier is in its flow while the key is not shared. */
  carrier: number;
  spans: number;
  shared: boolean;
  /** The span count at which to count the key's unconnected chains again. */
  nextCheck: number;
}

/** Something wrong with one span, reported while the rest of its batch is assembled. */
export interface AssemblyProblem {
  spanKey: string;
  problem: string;
}

export interface AddResult {
  /** Spans new to the working set. */
  added: FlowSpan[];
  /** Spans it already held, ignored. */
  duplicates: number;
  problems: AssemblyProblem[];
}

/** A span whose flow the store does not have yet, or has under another id. */
export interface MovedSpan {
  span: FlowSpan;
  flowId: FlowId;
  /** Placed in a flow for the first time (the store had it in none): what counts it once. */
  first: boolean;
}

/** A span (`referrer`) that names another (`target`, as parent or link) which has not arrived. */
export interface PendingReference {
  target: string;
  referrer: string;
}

export interface FlowChanges {
  /**
   * Flows to describe (and store the facts of): those whose spans or id changed, or that were marked
   * with `touch`, each at most once per `describeEveryMs` but new and renamed ones at once.
   */
  flows: AssembledFlow[];
  /** Stored flow ids that no longer name a flow: merged into another, or renamed by an earlier span. */
  removed: FlowId[];
  moved: MovedSpan[];
  /** Keys found shared since the last changes were taken. */
  sharedKeys: BusinessKey[];
  /**
   * References left waiting: the store keeps them, so the span they wait for finds its referrers' flows
   * when it arrives, even if those left the working set (lookupsFor's `referrersOf`).
   */
  waiting: PendingReference[];
  /** Spans that arrived (or turned out to be batch spans) while named: their references wait no more. */
  resolved: string[];
  /** Batch spans that arrived: the store keeps them, so a span naming one later knows it joins nothing. */
  batchSpans: FlowSpan[];
  /**
   * Flows whose facts the store has out of date, held back from describing by `describeEveryMs` (each
   * reported once until described): the store marks them to be described again, so a stop, a failed
   * write or a kill before then leaves no stale facts unmarked.
   */
  deferred: FlowId[];
}

/** A stored span as the caller loads it: its facts and the flow id the store has for it (null: none). */
export interface StoredFlowSpan {
  span: FlowSpan;
  flowId: FlowId | null;
}

export interface AssemblerStats {
  flows: number;
  spans: number;
  batchSpans: number;
  /** Spans named as parent or link that have not arrived. */
  pendingReferences: number;
  sharedKeys: number;
  /** Span rows held: spans, spans awaited, and spans gone that held ones still name. */
  rows: number;
  /** Distinct names (services, hosts, topics, groups, event types) the held spans carry. */
  names: number;
}

/** What #attach answers for a span it did not take in. */
const HELD = -2;
const INVALID = -3;

export class FlowAssembler {
  readonly #maxSegmentsPerKey: number;
  readonly #rows = new SpanRows();
  readonly #flows = new FlowSlots(this.#rows);
  readonly #keys = new Map<BusinessKey, KeyPoint>();
  /** Batch spans held, with when each was seen (in that order). */
  readonly #batchSpans = new Map<number, number>();
  /** Awaited rows: the rows that named each before it arrived. */
  readonly #waitingFor = new Map<number, number[]>();
  #dirty = new Set<number>();
  /** Span rows placed in a flow, or whose flow took another in, since the last changes were taken. */
  #movedRows: number[] = [];
  /** The spans added since the last changes were taken, by row: reported as they came, not made again from their rows. */
  #addedSpans = new Map<number, FlowSpan>();
  /** Flows changed since they were last handed out to be described. */
  #undescribed = new Set<number>();
  #removed = new Set<FlowId>();
  #newlyShared: BusinessKey[] = [];
  #waiting: PendingReference[] = [];
  #resolved = new Set<string>();
  #newBatchSpans: FlowSpan[] = [];
  /** Taking stored spans in: their waiting references are stored already. */
  #loading = false;
  #problems: AssemblyProblem[] = [];
  #nowMs = 0;

  constructor(options: AssemblerOptions = {}) {
    this.#maxSegmentsPerKey = options.maxSegmentsPerKey ?? DEFAULT_MAX_SEGMENTS_PER_KEY;
  }

  /** Adds spans new to the store; a span already held is ignored (adding is idempotent). */
  add(spans: readonly FlowSpan[], nowMs: number): AddResult {
    this.#nowMs = nowMs;
    this.#problems = [];
    const added: FlowSpan[] = [];
    let duplicates = 0;
    for (const span of spans) {
      const row = this.#attach(span, null);
      if (row === HELD) duplicates += 1;
      else if (row !== INVALID) added.push(span);
    }
    return { added, duplicates, problems: this.#problems };
  }

  /**
   * Takes stored spans in as the store has them (their flow ids), with the keys the store knows to be
   * shared. A flow they form that matches what is stored is not reported as changed.
   */
  load(stored: readonly StoredFlowSpan[], sharedKeys: readonly BusinessKey[], nowMs: number): void {
    this.#nowMs = nowMs;
    for (const key of sharedKeys) {
      const point = this.#keys.get(key);
      if (point) point.shared = true;
      else this.#keys.set(key, { key, carrier: NO_ROW, spans: 0, shared: true, nextCheck: Number.POSITIVE_INFINITY });
    }
    const flows = this.#flows;
    const rows = this.#rows;
    const before = new Map([...this.#dirty].map((slot) => [slot, flows.generation(slot)]));
    const loaded: number[] = [];
    // one string per stored flow id, shared by every span row of the flow
    const ids = new Map<FlowId, FlowId>();
    this.#loading = true;
    try {
      for (const { span, flowId } of stored) {
        let id: FlowId | null = null;
        if (flowId !== null) {
          id = ids.get(flowId) ?? flowId;
          ids.set(id, id);
        }
        const row = this.#attach(span, id);
        if (row >= 0) loaded.push(row);
      }
    } finally {
      this.#loading = false;
    }
    // what loading formed is what the store holds, unless it disagrees (a merge, an anchor gone to
    // retention): then it is written again, and stored ids that no longer name a flow go
    for (const slot of new Set(loaded.map((row) => rows.flow(row)))) {
      if (slot === NO_ROW || before.get(slot) === flows.generation(slot)) continue;
      const id = flows.id(slot);
      const members = flows.members(slot);
      const stored = new Set<FlowId>();
      for (const row of members) {
        const saved = rows.savedFlowId(row);
        if (saved !== null) stored.add(saved);
      }
      for (const saved of stored) if (saved !== id) this.#removed.add(saved);
      flows.setSavedId(slot, stored.has(id) ? ids.get(id)! : null);
      if (members.every((row) => rows.savedFlowId(row) === id)) this.#dirty.delete(slot);
    }
  }

  /**
   * Marks a resident flow to be described again (its facts change with time: a new orphan). False when
   * no resident flow has that id (it was absorbed, or its spans are gone): the stored row names no flow.
   */
  touch(flowId: FlowId): boolean {
    const slot = this.#slotOf(flowId);
    if (slot === NO_ROW || this.#flows.id(slot) !== flowId) return false;
    this.#dirty.add(slot);
    return true;
  }

  /** Forgets a resident flow (the store's copy changed under it: retention deleted spans of it), to be loaded again. */
  forgetFlow(flowId: FlowId): void {
    const slot = this.#slotOf(flowId);
    if (slot === NO_ROW || this.#flows.id(slot) !== flowId) return;
    this.#forget(slot);
  }

  /** The resident flow holding the span (a span key `traceId/spanId`, or a flow id's anchor). */
  flowOf(flowIdOrSpanKey: string): AssembledFlow | undefined {
    const slot = this.#slotOf(flowIdOrSpanKey);
    return slot === NO_ROW ? undefined : new AssembledFlow(this.#flows, this.#rows, slot);
  }

  /** Whether the span is held (arrived, in a flow or a batch span). */
  holds(spanKey: string): boolean {
    const row = this.#rows.find(spanKey);
    return row !== NO_ROW && this.#rows.isArrived(row);
  }

  /** Whether the working set knows which flow carries this key (or that it is shared). */
  knowsKey(key: BusinessKey): boolean {
    const point = this.#keys.get(key);
    return point !== undefined && (point.shared || point.carrier !== NO_ROW);
  }

  knowsMessage(message: string): boolean {
    return this.#rows.findMessage(message) !== NO_ROW;
  }

  isShared(key: BusinessKey): boolean {
    return this.#keys.get(key)?.shared ?? false;
  }

  /**
   * What changed since the last call, for the caller to store; from then on the assembler takes it as
   * stored. If storing fails, the caller must `clear()` the working set and load it again.
   *
   * Every change of membership is reported at once. Describing a flow costs a pass over its spans, and
   * a flow whose spans trickle in would be described again in every round: a changed flow is handed out
   * to be described at most once per `describeEveryMs` (its facts lag that much behind), but a new or
   * renamed flow at once, as the store has no facts under its id yet. Default 0: every changed flow.
   */
  takeChanges(nowMs = 0, describeEveryMs = 0): FlowChanges {
    const flows = this.#flows;
    const rows = this.#rows;
    const changed = [...this.#dirty].filter((slot) => flows.isOpen(slot));
    const live = new Set<FlowId>();
    for (const slot of changed) {
      const id = flows.id(slot);
      live.add(id);
      const saved = flows.savedId(slot);
      if (saved !== id) {
        if (saved !== null) this.#removed.add(saved);
        flows.setSavedId(slot, id);
        flows.setDescribedAtMs(slot, null);
        for (const row of flows.members(slot)) this.#movedRows.push(row); // every span's flow id changed
      }
      this.#undescribed.add(slot);
    }
    const moved: MovedSpan[] = [];
    for (const row of this.#movedRows) {
      const slot = rows.flow(row);
      if (slot === NO_ROW || !flows.isOpen(slot)) continue; // forgotten since
      const id = flows.savedId(slot) ?? flows.id(slot);
      const saved = rows.savedFlowId(row);
      if (saved === id) continue;
      moved.push({ span: this.#addedSpans.get(row) ?? rows.spanOf(row), flowId: id, first: saved === null });
      rows.setSavedFlowId(row, id);
    }
    this.#movedRows = [];
    this.#addedSpans = new Map();
    const described: AssembledFlow[] = [];
    const deferred: FlowId[] = [];
    for (const slot of this.#undescribed) {
      const describedAtMs = flows.describedAtMs(slot);
      if (describedAtMs === null || nowMs - describedAtMs >= describeEveryMs) {
        described.push(new AssembledFlow(flows, rows, slot));
        flows.setDescribedAtMs(slot, nowMs);
        flows.setDeferredReported(slot, false);
        this.#undescribed.delete(slot);
      } else if (!flows.deferredReported(slot)) {
        flows.setDeferredReported(slot, true);
        deferred.push(flows.id(slot));
      }
    }
    // an id merged away, then given back (a flow whose anchor is again the earliest), names a flow still
    const removed = [...this.#removed].filter((id) => !live.has(id) && this.flowOf(id)?.id !== id);
    const waiting = this.#waiting.filter(({ target }) => {
      const row = rows.find(target);
      return row !== NO_ROW && rows.isAwaited(row);
    });
    const changes = {
      flows: described, removed, moved, sharedKeys: this.#newlyShared, waiting, resolved: [...this.#resolved], batchSpans: this.#newBatchSpans, deferred,
    };
    this.#newBatchSpans = [];
    this.#waiting = [];
    this.#resolved = new Set();
    this.#dirty = new Set();
    this.#removed = new Set();
    this.#newlyShared = [];
    return changes;
  }

  /** Whether a changed flow still waits to be handed out for describing. */
  get describing(): boolean {
    return this.#undescribed.size > 0;
  }

  /**
   * Forgets flows last touched at or before `lastTouchMs` (the store keeps them), then, while more than
   * `maxFlows` are held, the least recently touched; and batch spans seen by `lastTouchMs`. Flows with
   * changes not yet taken stay.
   */
  evictIdle(lastTouchMs: number, maxFlows = Number.POSITIVE_INFINITY): number {
    const flows = this.#flows;
    const pinned = (slot: number) => this.#dirty.has(slot) || this.#undescribed.has(slot);
    let evicted = 0;
    for (const slot of flows.openSlots()) {
      if (flows.touchedAtMs(slot) > lastTouchMs || pinned(slot)) continue;
      this.#forget(slot);
      evicted += 1;
    }
    if (flows.size > maxFlows) {
      const held = [...flows.openSlots()].filter((slot) => !pinned(slot));
      held.sort((a, b) => flows.touchedAtMs(a) - flows.touchedAtMs(b));
      for (const slot of held) {
        if (flows.size <= maxFlows) break;
        this.#forget(slot);
        evicted += 1;
      }
    }
    for (const [row, seenAtMs] of this.#batchSpans) {
      if (seenAtMs > lastTouchMs) break;
      this.#batchSpans.delete(row);
      this.#rows.retire(row);
    }
    return evicted;
  }

  /** Forgets everything (the store could not take the last changes: it is the truth again). */
  clear(): void {
    this.#rows.clear();
    this.#flows.clear();
    this.#keys.clear();
    this.#batchSpans.clear();
    this.#waitingFor.clear();
    this.#dirty = new Set();
    this.#movedRows = [];
    this.#addedSpans = new Map();
    this.#undescribed = new Set();
    this.#removed = new Set();
    this.#newlyShared = [];
    this.#waiting = [];
    this.#resolved = new Set();
    this.#newBatchSpans = [];
  }

  get stats(): AssemblerStats {
    let spans = 0;
    for (const slot of this.#flows.openSlots()) spans += this.#flows.memberCount(slot);
    let sharedKeys = 0;
    for (const point of this.#keys.values()) if (point.shared) sharedKeys += 1;
    return {
      flows: this.#flows.size, spans, batchSpans: this.#batchSpans.size, pendingReferences: this.#rows.awaitedCount, sharedKeys,
      rows: this.#rows.size, names: this.#rows.names.size,
    };
  }

  get flows(): Iterable<AssembledFlow> {
    return [...this.#flows.openSlots()].map((slot) => new AssembledFlow(this.#flows, this.#rows, slot));
  }

  // ---- joining ---------------------------------------------------------------------------------

  #slotOf(flowIdOrSpanKey: string): number {
    const row = this.#rows.find(flowIdOrSpanKey);
    return row === NO_ROW ? NO_ROW : this.#rows.flow(row);
  }

  /** Takes a span in (with the flow id the store has for it); its row, or HELD or INVALID. */
  #attach(span: FlowSpan, savedFlowId: FlowId | null): number {
    const rows = this.#rows;
    const row = rows.point(span.key);
    if (row === NO_ROW) {
      this.#problem(span, 'its trace or span id is not lowercase hex of the right length: not assembled');
      return INVALID;
    }
    if (rows.isArrived(row)) return HELD;
    const waiting = this.#waitingFor.get(row) ?? null;
    this.#waitingFor.delete(row);
    if (waiting !== null && !this.#loading) this.#resolved.add(span.key);
    if (span.role === 'batch') {
      // spans that named it as parent or link stay where they are: a batch joins nothing
      rows.arrive(row, span, NO_ROW, NO_ROW, null, savedFlowId);
      this.#batchSpans.set(row, this.#nowMs);
      if (!this.#loading) this.#newBatchSpans.push(span);
      return row;
    }
    // each join point looked up once: the parent, the one link, the message, the key
    let parent = NO_ROW;
    if (span.parentKey !== null) {
      if (span.parentKey === span.key) {
        this.#problem(span, 'the span is its own parent');
        parent = row;
      } else parent = rows.point(span.parentKey);
    }
    // one link names the span's cause; several (a producer that links all it read) name none in particular
    let link = NO_ROW;
    if (span.links.includes(span.key)) {
      this.#problem(span, 'the span links to itself');
      if (span.links.length === 1) link = row;
    } else if (span.links.length === 1) link = rows.point(span.links[0]!);
    const carrier = span.message === null ? NO_ROW : rows.findMessage(span.message);
    let key: KeyPoint | undefined;
    let joinsByKey = false;
    if (span.businessKey !== null) {
      if (span.businessKey.length > MAX_BUSINESS_KEY_CHARS) {
        this.#problem(span, `its business key is ${span.businessKey.length} characters long, more than ${MAX_BUSINESS_KEY_CHARS}: not joined by it`);
      } else {
        key = this.#keys.get(span.businessKey);
        joinsByKey = true;
      }
    }
    rows.arrive(row, span, parent, link, key?.key ?? span.businessKey, savedFlowId);

    // most spans join a flow at once: they go straight into it, not into a flow of their own merged away
    let home = NO_ROW;
    for (const referrer of waiting ?? []) if (home === NO_ROW) home = rows.flow(referrer);
    if (home === NO_ROW) home = this.#flowOfOther(parent, row);
    if (home === NO_ROW) home = this.#flowOfOther(link, row);
    if (home === NO_ROW) home = this.#flowOfOther(carrier, row);
    if (home === NO_ROW && key !== undefined && !key.shared) home = this.#flowOfOther(key.carrier, row);
    if (home === NO_ROW) home = this.#flows.open(row, this.#nowMs);
    else {
      this.#flows.add(home, row);
      this.#flows.touch(home, this.#nowMs);
    }
    this.#dirty.add(home);
    this.#movedRows.push(row);
    this.#addedSpans.set(row, span);

    for (const referrer of waiting ?? []) this.#join(row, referrer);
    if (parent !== NO_ROW && parent !== row) this.#refer(row, parent, span.parentKey!, span.key);
    if (link !== NO_ROW && link !== row) this.#refer(row, link, span.links[0]!, span.key);
    if (span.message !== null) {
      if (this.#flowOfOther(carrier, row) !== NO_ROW) this.#join(row, carrier);
      else {
        if (carrier !== NO_ROW) rows.unindexMessage(carrier);
        rows.indexMessage(row);
      }
    }
    if (joinsByKey) this.#carryKey(row, span.businessKey!, key);
    return row;
  }

  /** The flow of another span's row (NO_ROW for none, or for the span's own row). */
  #flowOfOther(other: number, row: number): number {
    return other === NO_ROW || other === row ? NO_ROW : this.#rows.flow(other);
  }

  /** The span names another (parent or link): join it if it is here, else wait for it. */
  #refer(row: number, target: number, targetKey: string, spanKey: string): void {
    const rows = this.#rows;
    if (rows.isAwaited(target)) {
      const waiting = this.#waitingFor.get(target);
      if (waiting === undefined) this.#waitingFor.set(target, [row]);
      else waiting.push(row);
      if (!this.#loading) this.#waiting.push({ target: targetKey, referrer: spanKey });
    } else if (rows.flow(target) !== NO_ROW) this.#join(row, target);
  }

  /** `point`: the key's point, looked up already (undefined when it has none yet). */
  #carryKey(row: number, key: BusinessKey, point: KeyPoint | undefined): void {
    const rows = this.#rows;
    if (point === undefined) {
      this.#keys.set(key, { key, carrier: row, spans: 1, shared: false, nextCheck: this.#maxSegmentsPerKey + 1 });
      return;
    }
    point.spans += 1;
    if (point.shared) return;
    if (point.carrier !== NO_ROW && rows.flow(point.carrier) !== NO_ROW) this.#join(row, point.carrier);
    else point.carrier = row;
    // a key is checked as it arrives, never while stored flows are taken back in (the store says whether it is shared)
    if (point.spans >= point.nextCheck && !this.#loading) {
      point.nextCheck = point.spans * 2;
      const members = this.#flows.members(rows.flow(point.carrier));
      if (segmentsCarrying(rows, members, key, this.#keys) > this.#maxSegmentsPerKey) this.#share(key, point);
    }
  }

  /** The key stops joining: the flow it welded is split into what else connects. */
  #share(key: BusinessKey, point: KeyPoint): void {
    const flows = this.#flows;
    point.shared = true;
    this.#newlyShared.push(key);
    const slot = this.#rows.flow(point.carrier);
    point.carrier = NO_ROW;
    const parts = splitComponents(this.#rows, flows.members(slot), this.#keys);
    if (parts.length === 1) return;
    for (const part of parts) for (const row of part) this.#movedRows.push(row);
    // the part holding the anchor keeps the flow (and its id); the others are new flows
    const anchor = flows.anchor(slot);
    const keeping = parts.find((part) => part.includes(anchor))!;
    flows.reset(slot, keeping);
    this.#dirty.add(slot);
    for (const part of parts) {
      if (part === keeping) continue;
      const split = flows.open(part[0]!, this.#nowMs);
      flows.reset(split, part);
      this.#dirty.add(split);
    }
  }

  #join(a: number, b: number): void {
    const flows = this.#flows;
    let big = this.#rows.flow(a);
    let small = this.#rows.flow(b);
    if (big === small) return;
    if (flows.memberCount(small) > flows.memberCount(big)) [big, small] = [small, big];
    for (const row of flows.members(small)) this.#movedRows.push(row);
    const saved = flows.savedId(small);
    if (saved !== null) this.#removed.add(saved);
    this.#dirty.delete(small);
    this.#undescribed.delete(small);
    flows.absorb(big, small);
    flows.touch(big, this.#nowMs);
    this.#dirty.add(big);
  }

  #problem(span: FlowSpan, problem: string): void {
    this.#problems.push({ spanKey: span.key, problem });
  }

  #forget(slot: number): void {
    const rows = this.#rows;
    const members = this.#flows.members(slot);
    for (const row of members) {
      // references still waiting for a span that never came
      for (const target of [rows.parent(row), rows.link(row)]) {
        if (target === NO_ROW || target === row) continue;
        const waiting = this.#waitingFor.get(target);
        if (waiting === undefined) continue;
        const still = waiting.filter((referrer) => referrer !== row);
        if (still.length === 0) this.#waitingFor.delete(target);
        else this.#waitingFor.set(target, still);
      }
      rows.unindexMessage(row);
      const key = rows.businessKey(row);
      if (key !== null) {
        const point = this.#keys.get(key);
        if (point !== undefined && !point.shared && (point.carrier === NO_ROW || rows.flow(point.carrier) === slot)) this.#keys.delete(key);
      }
    }
    for (const row of members) rows.retire(row);
    this.#flows.close(slot);
    this.#dirty.delete(slot);
    this.#undescribed.delete(slot);
  }
}

/** The rows a span row names as parent or (single) link, itself never. */
function referencesOf(rows: SpanRows, row: number): number[] {
  const targets: number[] = [];
  const link = rows.link(row);
  if (link !== NO_ROW && link !== row) targets.push(link);
  const parent = rows.parent(row);
  if (parent !== NO_ROW && parent !== row) targets.push(parent);
  return targets;
}

/**
 * The components of a set of spans under every join but shared keys (and, when `withoutKeys`, without
 * any key): union-find over the spans' positions. With `withoutKeys`, spans waiting for the same span
 * that has not arrived are joined too (they are one chain once it comes).
 */
function components(rows: SpanRows, members: readonly number[], keys: ReadonlyMap<BusinessKey, KeyPoint>, withoutKeys: boolean): Int32Array {
  const parent = new Int32Array(members.length).map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const union = (i: number, j: number): void => {
    const a = find(i);
    const b = find(j);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  };
  const position = new Map<number, number>();
  members.forEach((row, i) => position.set(row, i));
  const firstCarrier = new Map<string, number>();
  const joinOn = (point: string, i: number): void => {
    const seen = firstCarrier.get(point);
    if (seen === undefined) firstCarrier.set(point, i);
    else union(seen, i);
  };
  members.forEach((row, i) => {
    // a target outside `members` is a batch span or one not here: it joins nothing
    for (const target of referencesOf(rows, row)) {
      const j = position.get(target);
      if (j !== undefined) union(i, j);
      else if (withoutKeys && rows.isAwaited(target)) joinOn(`r\u0000${target}`, i);
    }
    const message = rows.message(row);
    if (message !== null) joinOn(`m\u0000${message}`, i);
    const key = rows.businessKey(row);
    if (!withoutKeys && key !== null && key.length <= MAX_BUSINESS_KEY_CHARS && !keys.get(key)?.shared) joinOn(`k\u0000${key}`, i);
  });
  return parent.map((_, i) => find(i));
}

/**
 * How many chains, connected by anything but keys, carry the key. Spans waiting for the same span that
 * has not arrived (the consumers of a producer not reported yet, the retries of one message) count as one
 * chain: they are one once it comes.
 */
function segmentsCarrying(rows: SpanRows, members: readonly number[], key: BusinessKey, keys: ReadonlyMap<BusinessKey, KeyPoint>): number {
  const roots = components(rows, members, keys, true);
  const segments = new Set<number>();
  members.forEach((row, i) => {
    if (rows.businessKey(row) === key) segments.add(roots[i]!);
  });
  return segments.size;
}

/** The spans of a flow grouped into the flows they form now that some key no longer joins. */
function splitComponents(rows: SpanRows, members: readonly number[], keys: ReadonlyMap<BusinessKey, KeyPoint>): number[][] {
  const roots = components(rows, members, keys, false);
  const parts = new Map<number, number[]>();
  members.forEach((row, i) => {
    const part = parts.get(roots[i]!);
    if (part) part.push(row);
    else parts.set(roots[i]!, [row]);
  });
  return [...parts.values()];
}
