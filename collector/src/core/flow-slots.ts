/**
 * The flows the assembler holds, as slots of typed columns (like their spans, see span-rows.ts): each
 * flow's spans as a list threaded through the span rows, its anchor (the span naming it), when it was
 * last touched and described. A slot is reused once its flow is merged away or forgotten; its generation
 * tells a handle to the old flow (AssembledFlow) from the new one.
 */
import { NO_ROW, type SpanRows } from './span-rows.ts';
import type { FlowId } from './flow.ts';

const MIN_SLOTS = 256;

export class FlowSlots {
  #capacity = 0;
  #end = 0;
  readonly #free: number[] = [];
  #live = 0;

  #used = new Uint8Array(0);
  #generation = new Uint32Array(0);
  #head = new Int32Array(0);
  #tail = new Int32Array(0);
  #size = new Int32Array(0);
  #anchor = new Int32Array(0);
  #touchedAtMs = new Float64Array(0);
  /** NaN: never handed out to be described. */
  #describedAtMs = new Float64Array(0);
  #deferredReported = new Uint8Array(0);
  /** The id the store has the flow under (the same string every span row of it holds); null: never stored. */
  #savedId: (FlowId | null)[] = [];

  constructor(private readonly rows: SpanRows) {}

  get size(): number {
    return this.#live;
  }

  /** A new flow of one span. */
  open(row: number, nowMs: number): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#end;
      this.#end += 1;
      if (slot >= this.#capacity) this.#allocate(Math.max(MIN_SLOTS, Math.ceil(this.#capacity * 1.25)));
    }
    this.#used[slot] = 1;
    this.#live += 1;
    this.#head[slot] = row;
    this.#tail[slot] = row;
    this.#size[slot] = 1;
    this.#anchor[slot] = row;
    this.#touchedAtMs[slot] = nowMs;
    this.#describedAtMs[slot] = Number.NaN;
    this.#deferredReported[slot] = 0;
    this.#savedId[slot] = null;
    this.rows.setFlow(row, slot);
    this.rows.setNext(row, NO_ROW);
    return slot;
  }

  /** Frees the slot (its spans are elsewhere now, or gone). */
  close(slot: number): void {
    this.#used[slot] = 0;
    this.#generation[slot]! += 1;
    this.#savedId[slot] = null;
    this.#live -= 1;
    this.#free.push(slot);
  }

  isOpen(slot: number): boolean {
    return this.#used[slot] === 1;
  }

  generation(slot: number): number {
    return this.#generation[slot]!;
  }

  /** The slots of held flows. */
  *openSlots(): Generator<number> {
    for (let slot = 0; slot < this.#end; slot += 1) if (this.#used[slot] === 1) yield slot;
  }

  /** Takes one more span in. */
  add(slot: number, row: number): void {
    const rows = this.rows;
    rows.setFlow(row, slot);
    rows.setNext(row, NO_ROW);
    rows.setNext(this.#tail[slot]!, row);
    this.#tail[slot] = row;
    this.#size[slot]! += 1;
    if (rows.anchorsBefore(row, this.#anchor[slot]!)) this.#anchor[slot] = row;
  }

  /** Takes the other flow's spans in (the earlier anchor names the result) and closes the other's slot. */
  absorb(slot: number, other: number): void {
    const rows = this.rows;
    for (let row = this.#head[other]!; row !== NO_ROW; row = rows.next(row)) rows.setFlow(row, slot);
    rows.setNext(this.#tail[slot]!, this.#head[other]!);
    this.#tail[slot] = this.#tail[other]!;
    this.#size[slot]! += this.#size[other]!;
    if (rows.anchorsBefore(this.#anchor[other]!, this.#anchor[slot]!)) this.#anchor[slot] = this.#anchor[other]!;
    this.close(other);
  }

  /** Replaces the spans (a split); the anchor is recomputed from them. */
  reset(slot: number, members: readonly number[]): void {
    const rows = this.rows;
    this.#head[slot] = members[0]!;
    this.#anchor[slot] = members[0]!;
    let previous = NO_ROW;
    for (const row of members) {
      rows.setFlow(row, slot);
      if (previous !== NO_ROW) rows.setNext(previous, row);
      previous = row;
      if (rows.anchorsBefore(row, this.#anchor[slot]!)) this.#anchor[slot] = row;
    }
    rows.setNext(previous, NO_ROW);
    this.#tail[slot] = previous;
    this.#size[slot] = members.length;
  }

  members(slot: number): number[] {
    const members: number[] = [];
    for (let row = this.#head[slot]!; row !== NO_ROW; row = this.rows.next(row)) members.push(row);
    return members;
  }

  memberCount(slot: number): number {
    return this.#size[slot]!;
  }

  anchor(slot: number): number {
    return this.#anchor[slot]!;
  }

  /** The flow's id: its anchor's ids. */
  id(slot: number): FlowId {
    return this.rows.flowId(this.#anchor[slot]!);
  }

  touchedAtMs(slot: number): number {
    return this.#touchedAtMs[slot]!;
  }

  touch(slot: number, nowMs: number): void {
    this.#touchedAtMs[slot] = nowMs;
  }

  /** When last handed out to be described; null: never. */
  describedAtMs(slot: number): number | null {
    const at = this.#describedAtMs[slot]!;
    return Number.isNaN(at) ? null : at;
  }

  setDescribedAtMs(slot: number, atMs: number | null): void {
    this.#describedAtMs[slot] = atMs ?? Number.NaN;
  }

  deferredReported(slot: number): boolean {
    return this.#deferredReported[slot] === 1;
  }

  setDeferredReported(slot: number, reported: boolean): void {
    this.#deferredReported[slot] = reported ? 1 : 0;
  }

  savedId(slot: number): FlowId | null {
    return this.#savedId[slot]!;
  }

  setSavedId(slot: number, flowId: FlowId | null): void {
    this.#savedId[slot] = flowId;
  }

  clear(): void {
    this.#end = 0;
    this.#free.length = 0;
    this.#live = 0;
    this.#used.fill(0);
    // generations go on counting, so no handle to a flow of before the clear finds a new one
    for (let slot = 0; slot < this.#capacity; slot += 1) this.#generation[slot]! += 1;
    this.#savedId = [];
  }

  #allocate(capacity: number): void {
    const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(old: T, make: new (length: number) => T): T => {
      const grown = new make(capacity);
      grown.set(old.subarray(0, Math.min(old.length, capacity)));
      return grown;
    };
    this.#used = grow(this.#used, Uint8Array);
    this.#generation = grow(this.#generation, Uint32Array);
    this.#head = grow(this.#head, Int32Array);
    this.#tail = grow(this.#tail, Int32Array);
    this.#size = grow(this.#size, Int32Array);
    this.#anchor = grow(this.#anchor, Int32Array);
    this.#touchedAtMs = grow(this.#touchedAtMs, Float64Array);
    this.#describedAtMs = grow(this.#describedAtMs, Float64Array);
    this.#deferredReported = grow(this.#deferredReported, Uint8Array);
    this.#capacity = capacity;
  }
}
