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

/** A span the assembler holds, and the flow it is in (null for a batch span). */
class SpanNode {
  flow: AssembledFlow | null = null;
  /** The flow id the store has for this span, null when it has none yet. */
  savedFlowId: FlowId | null = null;
  constructor(readonly span: FlowSpan) {}
}

/** A flow in the working set: its spans, and what the store knows of it. */
export class AssembledFlow {
  readonly nodes: SpanNode[];
  #anchor: SpanNode;
  /** The id this flow is stored under, null when never stored. */
  savedId: FlowId | null = null;
  touchedAtMs: number;

  constructor(first: SpanNode, nowMs: number) {
    this.nodes = [first];
    this.#anchor = first;
    this.touchedAtMs = nowMs;
  }

  get id(): FlowId {
    return flowIdOf(this.#anchor.span);
  }

  get size(): number {
    return this.nodes.length;
  }

  spans(): FlowSpan[] {
    return this.nodes.map((node) => node.span);
  }

  /** Takes the other flow's spans in; the earlier anchor names the result. */
  absorb(other: AssembledFlow): void {
    for (const node of other.nodes) {
      node.flow = this;
      this.nodes.push(node);
    }
    if (anchorsBefore(other.#anchor.span, this.#anchor.span)) this.#anchor = other.#anchor;
  }

  /** Replaces the spans (a split); the anchor is recomputed from them. */
  reset(nodes: SpanNode[]): void {
    this.nodes.length = 0;
    this.#anchor = nodes[0]!;
    for (const node of nodes) {
      node.flow = this;
      this.nodes.push(node);
      if (anchorsBefore(node.span, this.#anchor.span)) this.#anchor = node;
    }
  }
}

/** The anchor order: start time, then trace id, then span id. */
function anchorsBefore(a: FlowSpan, b: FlowSpan): boolean {
  if (a.startMs !== b.startMs) return a.startMs < b.startMs;
  return a.key < b.key;
}

/** A span key as a join point: the span once it arrived, and until then the spans that name it. */
interface SpanPoint {
  node: SpanNode | null;
  /** Spans that named this one (as parent or link) before it arrived. */
  waiting: SpanNode[] | null;
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

export interface FlowChanges {
  /** Flows whose spans or id changed, or that were marked for describing again. */
  flows: AssembledFlow[];
  /** Stored flow ids that no longer name a flow: merged into another, or renamed by an earlier span. */
  removed: FlowId[];
  moved: MovedSpan[];
  /** Keys found shared since the last changes were taken. */
  sharedKeys: BusinessKey[];
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
  readonly #points = new Map<string, SpanPoint>();
  readonly #messages = new Map<string, SpanNode>();
  readonly #keys = new Map<BusinessKey, KeyPoint>();
  /** Resident flows, least recently touched first (a touch moves a flow to the end). */
  readonly #flows = new Set<AssembledFlow>();
  readonly #batchSpans = new Map<SpanNode, number>();
  #dirty = new Set<AssembledFlow>();
  #removed = new Set<FlowId>();
  #newlyShared: BusinessKey[] = [];
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
      if (this.#points.get(span.key)?.node) duplicates += 1;
      else {
        this.#attach(new SpanNode(span));
        added.push(span);
      }
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
    for (const { span, flowId } of stored) {
      if (this.#points.get(span.key)?.node) continue;
      const node = new SpanNode(span);
      node.savedFlowId = flowId;
      this.#attach(node);
      nodes.push(node);
    }
    // what loading formed is what the store holds, unless it disagrees (then it is written again)
    for (const flow of new Set(nodes.map((node) => node.flow))) {
      if (flow === null || before.has(flow)) continue;
      const id = flow.id;
      if (flow.nodes.every((node) => node.savedFlowId === id)) {
        flow.savedId = id;
        this.#dirty.delete(flow);
      }
    }
  }

  /** Marks a resident flow to be described again (its facts change with time: a new orphan). */
  touch(flowId: FlowId): boolean {
    const flow = this.flowOf(flowId);
    if (flow === undefined) return false;
    this.#dirty.add(flow);
    return true;
  }

  /** The resident flow holding the span (a span key `traceId/spanId`, or a flow id's anchor). */
  flowOf(flowIdOrSpanKey: string): AssembledFlow | undefined {
    const key = flowIdOrSpanKey.includes('/') ? flowIdOrSpanKey : flowIdOrSpanKey.replace('-', '/');
    return this.#points.get(key)?.node?.flow ?? undefined;
  }

  /** Whether the span is held (arrived, in a flow or a batch span). */
  holds(spanKey: string): boolean {
    return Boolean(this.#points.get(spanKey)?.node);
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
   */
  takeChanges(): FlowChanges {
    const flows = [...this.#dirty].filter((flow) => this.#flows.has(flow));
    const live = new Set(flows.map((flow) => flow.id));
    const moved: MovedSpan[] = [];
    for (const flow of flows) {
      const id = flow.id;
      if (flow.savedId !== null && flow.savedId !== id) this.#removed.add(flow.savedId);
      flow.savedId = id;
      for (const node of flow.nodes) {
        if (node.savedFlowId === id) continue;
        moved.push({ span: node.span, flowId: id, first: node.savedFlowId === null });
        node.savedFlowId = id;
      }
    }
    const removed = [...this.#removed].filter((id) => !live.has(id));
    const changes = { flows, removed, moved, sharedKeys: this.#newlyShared };
    this.#dirty = new Set();
    this.#removed = new Set();
    this.#newlyShared = [];
    return changes;
  }

  /** Forgets flows last touched at or before `lastTouchMs` (the store keeps them), and batch spans seen by then. */
  evictIdle(lastTouchMs: number): number {
    let evicted = 0;
    for (const flow of this.#flows) {
      if (flow.touchedAtMs > lastTouchMs) break; // least recently touched first
      if (this.#dirty.has(flow)) continue;
      this.#forget(flow);
      evicted += 1;
    }
    for (const [node, seenAtMs] of this.#batchSpans) {
      if (seenAtMs > lastTouchMs) break;
      this.#batchSpans.delete(node);
      this.#dropPoint(node.span.key);
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
    this.#removed = new Set();
    this.#newlyShared = [];
  }

  get stats(): AssemblerStats {
    let spans = 0;
    for (const flow of this.#flows) spans += flow.size;
    let pendingReferences = 0;
    for (const point of this.#points.values()) if (point.node === null) pendingReferences += 1;
    let sharedKeys = 0;
    for (const point of this.#keys.values()) if (point.shared) sharedKeys += 1;
    return { flows: this.#flows.size, spans, batchSpans: this.#batchSpans.size, pendingReferences, sharedKeys };
  }

  get flows(): Iterable<AssembledFlow> {
    return this.#flows;
  }

  // ---- joining ---------------------------------------------------------------------------------

  #attach(node: SpanNode): void {
    const { span } = node;
    const point = this.#point(span.key);
    point.node = node;
    const waiting = point.waiting;
    point.waiting = null;
    if (span.role === 'batch') {
      // spans that named it as parent or link stay where they are: a batch joins nothing
      this.#batchSpans.set(node, this.#nowMs);
      return;
    }
    const flow = new AssembledFlow(node, this.#nowMs);
    node.flow = flow;
    this.#flows.add(flow);
    this.#dirty.add(flow);

    for (const referrer of waiting ?? []) this.#join(node, referrer);
    if (span.parentSpanId !== null) {
      const parentKey = `${span.traceId}/${span.parentSpanId}`;
      if (parentKey === span.key) this.#problem(span, 'the span is its own parent');
      else this.#refer(node, parentKey);
    }
    // one link names the span's cause; several (a producer that links all it read) name none in particular
    if (span.links.length === 1) this.#refer(node, span.links[0]!);
    if (span.message !== null) {
      const carrier = this.#messages.get(span.message);
      if (carrier?.flow) this.#join(node, carrier);
      else this.#messages.set(span.message, node);
    }
    if (span.businessKey !== null) this.#carryKey(node, span.businessKey);
  }

  /** The span names another (parent or link): join it if it is here, else wait for it. */
  #refer(node: SpanNode, targetKey: string): void {
    const target = this.#point(targetKey);
    if (target.node === null) (target.waiting ??= []).push(node);
    else if (target.node.flow !== null) this.#join(node, target.node);
  }

  #carryKey(node: SpanNode, key: BusinessKey): void {
    if (key.length > MAX_BUSINESS_KEY_CHARS) {
      this.#problem(node.span, `its business key is ${key.length} characters long, more than ${MAX_BUSINESS_KEY_CHARS}: not joined by it`);
      return;
    }
    const point = this.#keys.get(key);
    if (point === undefined) {
      this.#keys.set(key, { carrier: node, spans: 1, shared: false, nextCheck: this.#maxSegmentsPerKey + 1 });
      return;
    }
    point.spans += 1;
    if (point.shared) return;
    if (point.carrier?.flow) this.#join(node, point.carrier);
    else point.carrier = node;
    if (point.spans >= point.nextCheck) {
      point.nextCheck = point.spans * 2;
      const flow = point.carrier!.flow!;
      if (segmentsCarrying(flow.nodes, key, this.#keys) > this.#maxSegmentsPerKey) this.#share(key, point);
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
    // the part holding the old anchor keeps the flow (and its id); the others are new flows
    const oldId = flow.id;
    const keeping = parts.find((part) => part.some((node) => flowIdOf(node.span) === oldId))!;
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
    big.absorb(small);
    this.#flows.delete(small);
    this.#dirty.delete(small);
    if (small.savedId !== null) this.#removed.add(small.savedId);
    big.touchedAtMs = this.#nowMs;
    this.#flows.delete(big); // re-inserted last: the most recently touched
    this.#flows.add(big);
    this.#dirty.add(big);
  }

  #point(key: string): SpanPoint {
    let point = this.#points.get(key);
    if (point === undefined) {
      point = { node: null, waiting: null };
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
      const { span } = node;
      this.#dropPoint(span.key);
      // references still waiting for a span that never came
      for (const target of referencesOf(span)) {
        const point = this.#points.get(target);
        if (point === undefined || point.node !== null || point.waiting === null) continue;
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
    if (point !== undefined && (point.waiting === null || point.waiting.length === 0)) this.#points.delete(key);
    else if (point !== undefined) point.node = null;
  }
}

/** The span keys a span names as parent or (single) link. */
function referencesOf(span: FlowSpan): string[] {
  const targets = span.links.length === 1 ? [span.links[0]!] : [];
  if (span.parentSpanId !== null) targets.push(`${span.traceId}/${span.parentSpanId}`);
  return targets;
}

/**
 * The components of a set of spans under every join but shared keys (and, when `withoutKeys`, without
 * any key): union-find over the spans' positions.
 */
function components(nodes: readonly SpanNode[], keys: ReadonlyMap<BusinessKey, KeyPoint>, withoutKeys: boolean): Int32Array {
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
  nodes.forEach((node, i) => position.set(node.span.key, i));
  const firstCarrier = new Map<string, number>();
  const joinOn = (point: string, i: number): void => {
    const seen = firstCarrier.get(point);
    if (seen === undefined) firstCarrier.set(point, i);
    else union(seen, i);
  };
  nodes.forEach((node, i) => {
    const { span } = node;
    // a target outside `nodes` is a batch span or one not here: it joins nothing
    for (const target of referencesOf(span)) {
      const j = position.get(target);
      if (j !== undefined) union(i, j);
    }
    if (span.message !== null) joinOn(`m\u0000${span.message}`, i);
    if (!withoutKeys && span.businessKey !== null && span.businessKey.length <= MAX_BUSINESS_KEY_CHARS && !keys.get(span.businessKey)?.shared) {
      joinOn(`k\u0000${span.businessKey}`, i);
    }
  });
  return parent.map((_, i) => find(i));
}

/** How many chains, connected by anything but keys, carry the key. */
function segmentsCarrying(nodes: readonly SpanNode[], key: BusinessKey, keys: ReadonlyMap<BusinessKey, KeyPoint>): number {
  const roots = components(nodes, keys, true);
  const segments = new Set<number>();
  nodes.forEach((node, i) => {
    if (node.span.businessKey === key) segments.add(roots[i]!);
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
