/**
 * Stall detection over the open flows: each flow is judged (stalls.ts) when its spans change, and again
 * only when its next deadline passes, so a pass over a million open flows reads one number per flow and
 * judges the few that are due. Pure: the caller passes the model's view (which carries `nowMs`), and
 * gets back the flows whose state changed, to store and to alert on.
 */
import type { FlowId } from './flow.ts';
import type { FlowProgress } from './flow-progress.ts';
import type { ModelView } from './model.ts';
import { judgeFlow, type FlowState, type FlowVerdict, type StallOptions } from './stalls.ts';

export interface VerdictChange {
  flowId: FlowId;
  from: FlowState | null;
  verdict: FlowVerdict;
}

export interface PassOutcome {
  /** Flows judged again because a deadline of theirs passed. */
  judged: number;
  changed: VerdictChange[];
}

/** Flows that ended (completed, compensated, failed) leave the detector: only new spans can change them. */
const ENDED: ReadonlySet<FlowState> = new Set(['completed', 'compensated', 'failed']);

export class StallDetector {
  readonly #options: StallOptions;
  readonly #slotOf = new Map<FlowId, number>();
  #flowIds: (FlowId | null)[] = [];
  #progress: (FlowProgress | null)[] = [];
  #states: (FlowState | null)[] = [];
  /** Per slot, when its verdict next changes by time alone; Infinity when only spans can change it. */
  #nextCheck = new Float64Array(1024).fill(Infinity);
  readonly #free: number[] = [];

  constructor(options: StallOptions = {}) {
    this.#options = options;
  }

  /** Open flows held. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** The verdict a flow last got, while it is open. */
  stateOf(flowId: FlowId): FlowState | null {
    const slot = this.#slotOf.get(flowId);
    return slot === undefined ? null : this.#states[slot]!;
  }

  /** A flow's spans changed (or it was loaded): judged now. An ended flow is not held. */
  update(flowId: FlowId, progress: FlowProgress, view: ModelView): VerdictChange {
    const verdict = judgeFlow(progress, view, this.#options);
    let slot = this.#slotOf.get(flowId);
    const from = slot === undefined ? null : this.#states[slot]!;
    if (ENDED.has(verdict.state)) {
      if (slot !== undefined) this.#release(flowId, slot);
      return { flowId, from, verdict };
    }
    if (slot === undefined) slot = this.#take(flowId);
    this.#progress[slot] = progress;
    this.#states[slot] = verdict.state;
    this.#nextCheck[slot] = verdict.nextCheckMs ?? Infinity;
    return { flowId, from, verdict };
  }

  /** A flow that is gone (merged into another, deleted by retention). */
  forget(flowId: FlowId): void {
    const slot = this.#slotOf.get(flowId);
    if (slot !== undefined) this.#release(flowId, slot);
  }

  /** Judges again every flow whose deadline has passed by `view.nowMs`; the changed verdicts. */
  pass(view: ModelView): PassOutcome {
    const nowMs = view.nowMs;
    const nextCheck = this.#nextCheck;
    const changed: VerdictChange[] = [];
    let judged = 0;
    for (let slot = 0; slot < this.#flowIds.length; slot += 1) {
      if (nextCheck[slot]! > nowMs) continue;
      judged += 1;
      const flowId = this.#flowIds[slot]!;
      const from = this.#states[slot]!;
      const verdict = judgeFlow(this.#progress[slot]!, view, this.#options);
      this.#states[slot] = verdict.state;
      nextCheck[slot] = verdict.nextCheckMs ?? Infinity;
      if (verdict.state !== from) changed.push({ flowId, from, verdict });
    }
    return { judged, changed };
  }

  /** The open flows in a state, with their progress (for listing what is stuck). */
  *flowsIn(state: FlowState): IterableIterator<{ flowId: FlowId; progress: FlowProgress }> {
    for (let slot = 0; slot < this.#flowIds.length; slot += 1) {
      if (this.#states[slot] === state) yield { flowId: this.#flowIds[slot]!, progress: this.#progress[slot]! };
    }
  }

  #take(flowId: FlowId): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#flowIds.length;
      this.#flowIds.push(null);
      this.#progress.push(null);
      this.#states.push(null);
      if (slot >= this.#nextCheck.length) {
        const grown = new Float64Array(this.#nextCheck.length * 2).fill(Infinity);
        grown.set(this.#nextCheck);
        this.#nextCheck = grown;
      }
    }
    this.#flowIds[slot] = flowId;
    this.#slotOf.set(flowId, slot);
    return slot;
  }

  #release(flowId: FlowId, slot: number): void {
    this.#slotOf.delete(flowId);
    this.#flowIds[slot] = null;
    this.#progress[slot] = null;
    this.#states[slot] = null;
    this.#nextCheck[slot] = Infinity;
    this.#free.push(slot);
  }
}
