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
import { flowIdOf, type FlowId } from './flow.ts';
import type { FlowSpan } from './flow-span.ts';
import type { BusinessKey } from './span.ts';

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
 * A span key as a join point: the span once it arrived (and the flow it is in, none for a batch span),
 * and until then the spans that named it.
 */
class SpanNode {
  span: FlowSpan | null = null;
  flow: AssembledFlow | null = null;
  /** The flow id the store has for this span, null when it has none yet. */
  savedFlowId: FlowId | null = null;
  /** Spans that named this one (as parent or link) before it arrived. */
  waiting: SpanNode[] | null = null;
}

/** A flow in the working set: its spans, and what the store knows of it. */
export class AssembledFlow {
  readonly nodes: SpanNode[];
  #anchor: SpanNode;
  /** The id this flow is stored under, null when never stored. */
  savedId: FlowId | null = null;
  touchedAtMs: number;
  /** When it was last handed out to be described; null: never. */
  describedAtMs: number | null = null;
  /** Reported as held back from describing since it was last described (FlowChanges.deferred). */
  deferredReported = false;

  constructor(first: SpanNode, nowMs: number) {
    this.nodes = [first];
    this.#anchor = first;
    this.touchedAtMs = nowMs;
  }

  #id: FlowId | null = null;

  get id(): FlowId {
    this.#id ??= flowIdOf(this.#anchor.span!);
    return this.#id;
  }

  #anchorAt(node: SpanNode): void {
    this.#anchor = node;
    this.#id = null;
  }

  get size(): number {
    return this.nodes.length;
  }

  spans(): FlowSpan[] {
    return this.nodes.map((node) => node.span!);
  }

  /** Takes one more span in. */
  add(node: SpanNode): void {
    node.flow = this;
    this.nodes.push(node);
    if (anchorsBefore(node.span!, this.#anchor.span!)) this.#anchorAt(node);
  }

  /** Takes the other flow's spans in; the earlier anchor names the result. */
  absorb(other: AssembledFlow): void {
    for (const node of other.nodes) {
      node.flow = this;
      this.nodes.push(node);
    }
    if (anchorsBefore(other.#anchor.span!, this.#anchor.span!)) this.#anchorAt(other.#anchor);
  }

  /** Replaces the spans (a split); the anchor is recomputed from them. */
  reset(nodes: SpanNode[]): void {
    this.nodes.length = 0;
    this.#anchorAt(nodes[0]!);
    for (const node of nodes) {
      node.flow = this;
      this.nodes.push(node);
      if (anchorsBefore(node.span!, this.#anchor.span!)) this.#anchorAt(node);
    }
  }
}

/** The anchor order: start time, then trace id, then span id. */
function anchorsBefore(a: FlowSpan, b: FlowSpan): boolean {
  if (a.startMs !== b.startMs) return a.startMs < b.startMs;
  return a.key < b.key;
}

interface KeyPoint {
  /** A span carrying the key; every carrier is in its flow while the key is not shared. */
  carrier: SpanNode | null;
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
}

export class FlowAssembler {
  readonly #maxSegmentsPerKey: number;
  readonly #points = new Map<string, SpanNode>();
  readonly #messages = new Map<string, SpanNode>();
  readonly #keys = new Map<BusinessKey, KeyPoint>();
  /** Resident flows. */
  readonly #flows = new Set<AssembledFlow>();
  readonly #batchSpans = new Map<SpanNode, number>();
  #dirty = new Set<AssembledFlow>();
  /** Spans placed in a flow, or whose flow took another in, since the last changes were taken. */
  #movedNodes: SpanNode[] = [];
  /** Flows changed since they were last handed out to be described. */
  #undescribed = new Set<AssembledFlow>();
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
      if (this.#attach(span, null) === null) duplicates += 1;
      else added.push(span);
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
      else this.#keys.set(key, { carrier: null, spans: 0, shared: true, nextCheck: Number.POSITIVE_INFINITY });
    }
    const before = new Set(this.#dirty);
    const nodes: SpanNode[] = [];
    this.#loading = true;
    try {
      for (const { span, flowId } of stored) {
        const node = this.#attach(span, flowId);
        if (node !== null) nodes.push(node);
      }
    } finally {
      this.#loading = false;
    }
    // what loading formed is what the store holds, unless it disagrees (a merge, an anchor gone to
    // retention): then it is written again, and stored ids that no longer name a flow go
    for (const flow of new Set(nodes.map((node) => node.flow))) {
      if (flow === null || before.has(flow)) continue;
      const id = flow.id;
      const stored = new Set(flow.nodes.map((node) => node.savedFlowId).filter((saved) => saved !== null));
      for (const saved of stored) if (saved !== id) this.#removed.add(saved);
      flow.savedId = stored.has(id) ? id : null;
      if (flow.nodes.every((node) => node.savedFlowId === id)) this.#dirty.delete(flow);
    }
  }

  /**
   * Marks a resident flow to be described again (its facts change with time: a new orphan). False when
   * no resident flow has that id (it was absorbed, or its spans are gone): the stored row names no flow.
   */
  touch(flowId: FlowId): boolean {
    const flow = this.flowOf(flowId);
    if (flow === undefined || flow.id !== flowId) return false;
    this.#dirty.add(flow);
    return true;
  }

  /** Forgets a resident flow (the store's copy changed under it: retention deleted spans of it), to be loaded again. */
  forgetFlow(flowId: FlowId): void {
    const flow = this.flowOf(flowId);
    if (flow === undefined || flow.id !== flowId) return;
    this.#forget(flow);
    this.#dirty.delete(flow);
    this.#undescribed.delete(flow);
  }

  /** The resident flow holding the span (a span key `traceId/spanId`, or a flow id's anchor). */
  flowOf(flowIdOrSpanKey: string): AssembledFlow | undefined {
    const key = flowIdOrSpanKey.includes('/') ? flowIdOrSpanKey : flowIdOrSpanKey.replace('-', '/');
    return this.#points.get(key)?.flow ?? undefined;
  }

  /** Whether the span is held (arrived, in a flow or a batch span). */
  holds(spanKey: string): boolean {
    return Boolean(this.#points.get(spanKey)?.span);
  }

  /** Whether the working set knows which flow carries this key (or that it is shared). */
  knowsKey(key: BusinessKey): boolean {
    const point = this.#keys.get(key);
    return point !== undefined && (point.shared || point.carrier !== null);
  }

  knowsMessage(message: string): boolean {
    return this.#messages.has(message);
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
    const changed = [...this.#dirty].filter((flow) => this.#flows.has(flow));
    const live = new Set(changed.map((flow) => flow.id));
    const moved: MovedSpan[] = [];
    const flows: AssembledFlow[] = [];
    for (const flow of changed) {
      const id = flow.id;
      const renamed = flow.savedId !== id;
      if (flow.savedId !== null && renamed) this.#removed.add(flow.savedId);
      flow.savedId = id;
      if (renamed) {
        flow.describedAtMs = null;
        for (const node of flow.nodes) this.#movedNodes.push(node); // every span's flow id changed
      }
      this.#undescribed.add(flow);
    }
    for (const node of this.#movedNodes) {
      const flow = node.flow;
      if (flow === null || !this.#flows.has(flow)) continue; // forgotten since
      const id = flow.id;
      if (node.savedFlowId === id) continue;
      moved.push({ span: node.span!, flowId: id, first: node.savedFlowId === null });
      node.savedFlowId = id;
    }
    this.#movedNodes = [];
    const deferred: FlowId[] = [];
    for (const flow of this.#undescribed) {
      if (!this.#flows.has(flow)) this.#undescribed.delete(flow); // merged away or forgotten
      else if (flow.describedAtMs === null || nowMs - flow.describedAtMs >= describeEveryMs) {
        flows.push(flow);
        flow.describedAtMs = nowMs;
        flow.deferredReported = false;
        this.#undescribed.delete(flow);
      } else if (!flow.deferredReported) {
        flow.deferredReported = true;
        deferred.push(flow.id);
      }
    }
    // an id merged away, then given back (a flow whose anchor is again the earliest), names a flow still
    const removed = [...this.#removed].filter((id) => !live.has(id) && this.flowOf(id)?.id !== id);
    const waiting = this.#waiting.filter(({ target }) => this.#points.get(target)?.span === null);
    const changes = {
      flows, removed, moved, sharedKeys: this.#newlyShared, waiting, resolved: [...this.#resolved], batchSpans: this.#newBatchSpans, deferred,
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
    let evicted = 0;
    for (const flow of this.#flows) {
      if (flow.touchedAtMs > lastTouchMs || this.#dirty.has(flow) || this.#undescribed.has(flow)) continue;
      this.#forget(flow);
      evicted += 1;
    }
    if (this.#flows.size > maxFlows) {
      const held = [...this.#flows].filter((flow) => !this.#dirty.has(flow) && !this.#undescribed.has(flow));
      held.sort((a, b) => a.touchedAtMs - b.touchedAtMs);
      for (const flow of held) {
        if (this.#flows.size <= maxFlows) break;
        this.#forget(flow);
        evicted += 1;
      }
    }
    for (const [node, seenAtMs] of this.#batchSpans) {
      if (seenAtMs > lastTouchMs) break;
      this.#batchSpans.delete(node);
      this.#dropPoint(node.span!.key);
    }
    return evicted;
  }

  /** Forgets everything (the store could not take the last changes: it is the truth again). */
  clear(): void {
    this.#points.clear();
    this.#messages.clear();
    this.#keys.clear();
    this.#flows.clear();
    this.#batchSpans.clear();
    this.#dirty = new Set();
    this.#movedNodes = [];
    this.#undescribed = new Set();
    this.#removed = new Set();
    this.#newlyShared = [];
    this.#waiting = [];
    this.#resolved = new Set();
    this.#newBatchSpans = [];
  }

  get stats(): AssemblerStats {
    let spans = 0;
    for (const flow of this.#flows) spans += flow.size;
    let pendingReferences = 0;
    for (const point of this.#points.values()) if (point.span === null) pendingReferences += 1;
    let sharedKeys = 0;
    for (const point of this.#keys.values()) if (point.shared) sharedKeys += 1;
    return { flows: this.#flows.size, spans, batchSpans: this.#batchSpans.size, pendingReferences, sharedKeys };
  }

  get flows(): Iterable<AssembledFlow> {
    return this.#flows;
  }

  // ---- joining ---------------------------------------------------------------------------------

  /** Takes a span in (with the flow id the store has for it); null when it is held already. */
  #attach(span: FlowSpan, savedFlowId: FlowId | null): SpanNode | null {
    const node = this.#point(span.key);
    if (node.span !== null) return null;
    node.span = span;
    node.savedFlowId = savedFlowId;
    const waiting = node.waiting;
    node.waiting = null;
    if (waiting !== null && !this.#loading) this.#resolved.add(span.key);
    if (span.role === 'batch') {
      // spans that named it as parent or link stay where they are: a batch joins nothing
      this.#batchSpans.set(node, this.#nowMs);
      if (!this.#loading) this.#newBatchSpans.push(span);
      return node;
    }
    // each join point looked up once: the parent, the one link, the message, the key
    let parent: SpanNode | null = null;
    if (span.parentKey !== null) {
      if (span.parentKey === span.key) this.#problem(span, 'the span is its own parent');
      else parent = this.#point(span.parentKey);
    }
    // one link names the span's cause; several (a producer that links all it read) name none in particular
    let link: SpanNode | null = null;
    if (span.links.includes(span.key)) this.#problem(span, 'the span links to itself');
    else if (span.links.length === 1) link = this.#point(span.links[0]!);
    const carrier = span.message === null ? undefined : this.#messages.get(span.message);
    let key: KeyPoint | undefined;
    if (span.businessKey !== null) {
      if (span.businessKey.length > MAX_BUSINESS_KEY_CHARS) {
        this.#problem(span, `its business key is ${span.businessKey.length} characters long, more than ${MAX_BUSINESS_KEY_CHARS}: not joined by it`);
      } else key = this.#keys.get(span.businessKey);
    }

    // most spans join a flow at once: they go straight into it, not into a flow of their own merged away
    let home: AssembledFlow | null = null;
    for (const referrer of waiting ?? []) home ??= referrer.flow;
    home ??= parent?.flow ?? link?.flow ?? carrier?.flow ?? (key?.shared ? null : key?.carrier?.flow) ?? null;
    if (home === null) {
      const flow = new AssembledFlow(node, this.#nowMs);
      node.flow = flow;
      this.#flows.add(flow);
    } else {
      home.add(node);
      home.touchedAtMs = this.#nowMs;
    }
    this.#dirty.add(node.flow!);
    this.#movedNodes.push(node);

    for (const referrer of waiting ?? []) this.#join(node, referrer);
    if (parent !== null) this.#refer(node, parent, span.parentKey!);
    if (link !== null) this.#refer(node, link, span.links[0]!);
    if (span.message !== null) {
      if (carrier?.flow) this.#join(node, carrier);
      else this.#messages.set(span.message, node);
    }
    if (span.businessKey !== null && span.businessKey.length <= MAX_BUSINESS_KEY_CHARS) this.#carryKey(node, span.businessKey, key);
    return node;
  }

  /** The span names another (parent or link): join it if it is here, else wait for it. */
  #refer(node: SpanNode, target: SpanNode, key: string): void {
    if (target.span === null) {
      (target.waiting ??= []).push(node);
      if (!this.#loading) this.#waiting.push({ target: key, referrer: node.span!.key });
    } else if (target.flow !== null) this.#join(node, target);
  }

  /** `point`: the key's point, looked up already (undefined when it has none yet). */
  #carryKey(node: SpanNode, key: BusinessKey, point: KeyPoint | undefined): void {
    if (point === undefined) {
      this.#keys.set(key, { carrier: node, spans: 1, shared: false, nextCheck: this.#maxSegmentsPerKey + 1 });
      return;
    }
    point.spans += 1;
    if (point.shared) return;
    if (point.carrier?.flow) this.#join(node, point.carrier);
    else point.carrier = node;
    // a key is checked as it arrives, never while stored flows are taken back in (the store says whether it is shared)
    if (point.spans >= point.nextCheck && !this.#loading) {
      point.nextCheck = point.spans * 2;
      const flow = point.carrier!.flow!;
      if (segmentsCarrying(flow.nodes, key, this.#keys, (target) => this.#points.get(target)?.span === null) > this.#maxSegmentsPerKey) {
        this.#share(key, point);
      }
    }
  }

  /** The key stops joining: the flow it welded is split into what else connects. */
  #share(key: BusinessKey, point: KeyPoint): void {
    point.shared = true;
    this.#newlyShared.push(key);
    const flow = point.carrier!.flow!;
    point.carrier = null;
    const parts = splitComponents(flow.nodes, this.#keys);
    if (parts.length === 1) return;
    for (const node of flow.nodes) this.#movedNodes.push(node);
    // the part holding the old anchor keeps the flow (and its id); the others are new flows
    const oldId = flow.id;
    const keeping = parts.find((part) => part.some((node) => flowIdOf(node.span!) === oldId))!;
    flow.reset(keeping);
    this.#dirty.add(flow);
    for (const part of parts) {
      if (part === keeping) continue;
      const split = new AssembledFlow(part[0]!, this.#nowMs);
      split.reset(part);
      this.#flows.add(split);
      this.#dirty.add(split);
    }
  }

  #join(a: SpanNode, b: SpanNode): void {
    let big = a.flow!;
    let small = b.flow!;
    if (big === small) return;
    if (small.size > big.size) [big, small] = [small, big];
    for (const node of small.nodes) this.#movedNodes.push(node);
    big.absorb(small);
    this.#flows.delete(small);
    this.#dirty.delete(small);
    if (small.savedId !== null) this.#removed.add(small.savedId);
    big.touchedAtMs = this.#nowMs;
    this.#dirty.add(big);
  }

  #point(key: string): SpanNode {
    let point = this.#points.get(key);
    if (point === undefined) {
      point = new SpanNode();
      this.#points.set(key, point);
    }
    return point;
  }

  #problem(span: FlowSpan, problem: string): void {
    this.#problems.push({ spanKey: span.key, problem });
  }

  #forget(flow: AssembledFlow): void {
    this.#flows.delete(flow);
    for (const node of flow.nodes) {
      const span = node.span!;
      this.#dropPoint(span.key);
      // references still waiting for a span that never came
      for (const target of referencesOf(span)) {
        const point = this.#points.get(target);
        if (point === undefined || point.span !== null || point.waiting === null) continue;
        point.waiting = point.waiting.filter((waiting) => waiting !== node);
        if (point.waiting.length === 0) this.#points.delete(target);
      }
      if (span.message !== null && this.#messages.get(span.message)?.flow === flow) this.#messages.delete(span.message);
      if (span.businessKey !== null) {
        const point = this.#keys.get(span.businessKey);
        if (point !== undefined && !point.shared && (point.carrier === null || point.carrier.flow === flow)) this.#keys.delete(span.businessKey);
      }
    }
  }

  #dropPoint(key: string): void {
    const point = this.#points.get(key);
    if (point === undefined) return;
    if (point.waiting === null || point.waiting.length === 0) this.#points.delete(key);
    else {
      // named by spans still held: back to a span awaited
      point.span = null;
      point.flow = null;
      point.savedFlowId = null;
    }
  }
}

/** The span keys a span names as parent or (single) link, itself never. */
function referencesOf(span: FlowSpan): string[] {
  const targets = span.links.length === 1 && span.links[0] !== span.key ? [span.links[0]!] : [];
  if (span.parentKey !== null && span.parentKey !== span.key) targets.push(span.parentKey);
  return targets;
}

/**
 * The components of a set of spans under every join but shared keys (and, when `withoutKeys`, without
 * any key): union-find over the spans' positions.
 */
function components(
  nodes: readonly SpanNode[], keys: ReadonlyMap<BusinessKey, KeyPoint>, withoutKeys: boolean, awaited?: (spanKey: string) => boolean,
): Int32Array {
  const parent = new Int32Array(nodes.length).map((_, i) => i);
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
  const position = new Map<string, number>();
  nodes.forEach((node, i) => position.set(node.span!.key, i));
  const firstCarrier = new Map<string, number>();
  const joinOn = (point: string, i: number): void => {
    const seen = firstCarrier.get(point);
    if (seen === undefined) firstCarrier.set(point, i);
    else union(seen, i);
  };
  nodes.forEach((node, i) => {
    const span = node.span!;
    // a target outside `nodes` is a batch span or one not here: it joins nothing
    for (const target of referencesOf(span)) {
      const j = position.get(target);
      if (j !== undefined) union(i, j);
      else if (awaited?.(target)) joinOn(`r\u0000${target}`, i);
    }
    if (span.message !== null) joinOn(`m\u0000${span.message}`, i);
    if (!withoutKeys && span.businessKey !== null && span.businessKey.length <= MAX_BUSINESS_KEY_CHARS && !keys.get(span.businessKey)?.shared) {
      joinOn(`k\u0000${span.businessKey}`, i);
    }
  });
  return parent.map((_, i) => find(i));
}

/**
 * How many chains, connected by anything but keys, carry the key. Spans waiting for the same span that
 * has not arrived (the consumers of a producer not reported yet, the retries of one message) count as one
 * chain: they are one once it comes.
 */
function segmentsCarrying(
  nodes: readonly SpanNode[], key: BusinessKey, keys: ReadonlyMap<BusinessKey, KeyPoint>, awaited: (spanKey: string) => boolean,
): number {
  const roots = components(nodes, keys, true, awaited);
  const segments = new Set<number>();
  nodes.forEach((node, i) => {
    if (node.span!.businessKey === key) segments.add(roots[i]!);
  });
  return segments.size;
}

/** The spans of a flow grouped into the flows they form now that some key no longer joins. */
function splitComponents(nodes: readonly SpanNode[], keys: ReadonlyMap<BusinessKey, KeyPoint>): SpanNode[][] {
  const roots = components(nodes, keys, false);
  const parts = new Map<number, SpanNode[]>();
  nodes.forEach((node, i) => {
    const part = parts.get(roots[i]!);
    if (part) part.push(node);
    else parts.set(roots[i]!, [node]);
  });
  return [...parts.values()];
}
