/**
 * Alerts on stuck chains, as a state machine with no delivery: flows that are stuck the same way ("waiting
 * for PaymentAuthorized from payment", "inventory failed handling PaymentAuthorized") make one alert, not
 * one per flow. An alert fires once enough flows are stuck that way, grows as more join, and resolves by
 * itself when they have all moved on (after a quiet time, so a flapping step does not fire twice); each
 * episode notifies once when it fires and once when it resolves, unless silenced. Acknowledging records who
 * looks at it. Pure: `nowMs` is passed in, and the notifications to send are returned, for an adapter to
 * store and deliver.
 */
import type { FlowId } from './flow.ts';
import type { Explanation, FlowState } from './stalls.ts';

export type AlertSeverity = 'critical' | 'warning';

/** What a group of flows is stuck on: flows with the same key make one alert. */
export interface StuckOn {
  /** `stalled|<awaited event types>|<service>|<group>` or `failed|<service>|<event type>|<group>`. */
  key: string;
  severity: AlertSeverity;
  /** Said of one flow; the alert's title says it of them all. */
  what: string;
}

export interface AlertOptions {
  /** Stuck flows an alert needs before it fires. Default 1. */
  minFlows?: number;
  /** An alert with no stuck flow left resolves after this long without one. Default 60_000. */
  resolveAfterMs?: number;
  /** Flow ids an alert lists (the count goes on). Default 20. */
  maxListedFlows?: number;
  /** Resolved alerts kept in the history, newest first. Default 500. */
  maxResolved?: number;
}

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertEvent {
  atMs: number;
  event: 'fired' | 'grew' | 'acknowledged' | 'silenced' | 'resolved';
  flows: number;
  by?: string;
}

export interface Alert {
  /** Stable for the episode, from its key and when it began; safe in a URL. */
  id: string;
  key: string;
  severity: AlertSeverity;
  state: AlertState;
  /** "37 orders waiting for PaymentAuthorized from payment". */
  title: string;
  /** Flows stuck this way now. */
  flowCount: number;
  /** The most flows stuck at once during the episode. */
  peakFlows: number;
  /** Some of them, the longest stuck first. */
  flowIds: FlowId[];
  startsAtMs: number;
  /** When it resolved; null while it fires. */
  endsAtMs: number | null;
  acknowledged: { atMs: number; by: string } | null;
  /** Notifications held back until then. */
  silencedUntilMs: number | null;
  history: AlertEvent[];
}

/** One notification to deliver: an adapter stores it with the alert's state, then sends it, once. */
export interface AlertNotification {
  alertId: string;
  kind: 'firing' | 'resolved';
  alert: Alert;
}

/** The alert key of a flow in this state, or null when the flow is not stuck. */
export function stuckOn(state: FlowState, explanation: Explanation | null): StuckOn | null {
  if (explanation === null) return null;
  if (state === 'stalled' && explanation.kind !== 'failure') {
    const awaited = explanation.awaitedEventTypes.slice(0, 3).join(' or ') || 'the next event';
    const service = explanation.awaitedService ?? 'an unknown service';
    const what = explanation.kind === 'consumer'
      ? `waiting for ${service} (group ${explanation.consumerGroup}) to handle ${explanation.afterEventType}`
      : `waiting for ${awaited} from ${service}`;
    return { key: `stalled|${explanation.awaitedEventTypes.join(',')}|${service}|${explanation.consumerGroup ?? ''}`, severity: 'critical', what };
  }
  if (state === 'failed' && explanation.kind === 'failure') {
    const what = explanation.consumerGroup === null
      ? `${explanation.service} failed to send ${explanation.eventType ?? 'an event'}`
      : `${explanation.service} (group ${explanation.consumerGroup}) failed handling ${explanation.eventType ?? 'an event'}`;
    return { key: `failed|${explanation.service}|${explanation.eventType ?? ''}|${explanation.consumerGroup ?? ''}`, severity: 'warning', what };
  }
  return null;
}

interface Group {
  stuck: StuckOn;
  /** Flow → when it got stuck this way. */
  flows: Map<FlowId, number>;
  alert: Alert;
  /** When its last flow moved on; null while it has flows. */
  emptySinceMs: number | null;
}

export class AlertBook {
  readonly #options: Required<AlertOptions>;
  readonly #groups = new Map<string, Group>();
  /** Each flow's current key, so a flow that moves on or changes how it is stuck leaves its old group. */
  readonly #keyOf = new Map<FlowId, string>();
  #resolved: Alert[] = [];
  #changed = new Set<string>();

  constructor(options: AlertOptions = {}) {
    this.#options = {
      minFlows: options.minFlows ?? 1,
      resolveAfterMs: options.resolveAfterMs ?? 60_000,
      maxListedFlows: options.maxListedFlows ?? 20,
      maxResolved: options.maxResolved ?? 500,
    };
  }

  /** A flow's latest verdict: it joins the alert of what it is stuck on, or leaves its alert when it is not stuck any more. */
  observe(flowId: FlowId, state: FlowState, explanation: Explanation | null, nowMs: number): void {
    const stuck = stuckOn(state, explanation);
    const previous = this.#keyOf.get(flowId);
    if (previous !== undefined && previous !== stuck?.key) {
      const group = this.#groups.get(previous);
      if (group?.flows.delete(flowId) && group.flows.size === 0) group.emptySinceMs = nowMs;
      this.#keyOf.delete(flowId);
      this.#changed.add(previous);
    }
    if (stuck === null || previous === stuck.key) return;
    let group = this.#groups.get(stuck.key);
    if (group === undefined) {
      group = { stuck, flows: new Map(), alert: this.#newAlert(stuck, nowMs), emptySinceMs: null };
      this.#groups.set(stuck.key, group);
    }
    group.flows.set(flowId, nowMs);
    group.emptySinceMs = null;
    this.#keyOf.set(flowId, stuck.key);
    this.#changed.add(stuck.key);
  }

  /** A flow that is gone (merged into another, deleted): it leaves its alert. */
  forget(flowId: FlowId, nowMs: number): void {
    const key = this.#keyOf.get(flowId);
    if (key === undefined) return;
    const group = this.#groups.get(key)!;
    group.flows.delete(flowId);
    if (group.flows.size === 0) group.emptySinceMs = nowMs;
    this.#keyOf.delete(flowId);
    this.#changed.add(key);
  }

  /** Alerts that fire, grow or resolve by now; the notifications to send (none for a silenced alert). */
  evaluate(nowMs: number): AlertNotification[] {
    const notifications: AlertNotification[] = [];
    for (const [key, group] of this.#groups) {
      const alert = group.alert;
      const flows = group.flows.size;
      const changed = this.#changed.has(key);
      if (changed) this.#refresh(group);
      if (alert.state === 'pending' && flows >= this.#options.minFlows) {
        alert.state = 'firing';
        let earliest = nowMs;
        for (const since of group.flows.values()) if (since < earliest) earliest = since;
        alert.startsAtMs = earliest;
        alert.history.unshift({ atMs: nowMs, event: 'fired', flows });
        if (!this.#silenced(alert, nowMs)) notifications.push({ alertId: alert.id, kind: 'firing', alert: structuredClone(alert) });
      } else if (alert.state === 'firing' && changed && flows > (alert.history[0]?.flows ?? 0) && flows === alert.peakFlows) {
        alert.history.unshift({ atMs: nowMs, event: 'grew', flows });
      }
      if (flows === 0 && group.emptySinceMs !== null && nowMs - group.emptySinceMs >= this.#options.resolveAfterMs) {
        this.#groups.delete(key);
        if (alert.state !== 'firing') continue; // never fired: nothing to resolve
        alert.state = 'resolved';
        alert.endsAtMs = group.emptySinceMs;
        alert.history.unshift({ atMs: nowMs, event: 'resolved', flows: 0 });
        this.#resolved = [alert, ...this.#resolved].slice(0, this.#options.maxResolved);
        if (!this.#silenced(alert, nowMs)) notifications.push({ alertId: alert.id, kind: 'resolved', alert: structuredClone(alert) });
      }
    }
    this.#changed.clear();
    return notifications;
  }

  /** Alerts firing now, most flows first; or, with `resolved`, the history of resolved ones, newest first. */
  alerts(state: 'firing' | 'resolved'): Alert[] {
    if (state === 'resolved') return this.#resolved.map((alert) => structuredClone(alert));
    return [...this.#groups.values()].map((g) => g.alert).filter((a) => a.state === 'firing')
      .sort((a, b) => b.flowCount - a.flowCount || a.startsAtMs - b.startsAtMs).map((alert) => structuredClone(alert));
  }

  /** Someone looks at it; false when no alert has this id. */
  acknowledge(alertId: string, by: string, nowMs: number): boolean {
    const alert = this.#find(alertId);
    if (alert === null) return false;
    alert.acknowledged = { atMs: nowMs, by };
    alert.history.unshift({ atMs: nowMs, event: 'acknowledged', flows: alert.flowCount, by });
    return true;
  }

  /** No notification of it until `untilMs`; false when no alert has this id. */
  silence(alertId: string, untilMs: number, by: string, nowMs: number): boolean {
    const alert = this.#find(alertId);
    if (alert === null) return false;
    alert.silencedUntilMs = untilMs;
    alert.history.unshift({ atMs: nowMs, event: 'silenced', flows: alert.flowCount, by });
    return true;
  }

  #find(alertId: string): Alert | null {
    for (const group of this.#groups.values()) if (group.alert.id === alertId) return group.alert;
    return this.#resolved.find((alert) => alert.id === alertId) ?? null;
  }

  #silenced(alert: Alert, nowMs: number): boolean {
    return alert.silencedUntilMs !== null && nowMs < alert.silencedUntilMs;
  }

  #newAlert(stuck: StuckOn, nowMs: number): Alert {
    return {
      id: `${fnv1a(stuck.key)}-${nowMs.toString(36)}`, key: stuck.key, severity: stuck.severity, state: 'pending', title: stuck.what, flowCount: 0, peakFlows: 0,
      flowIds: [], startsAtMs: nowMs, endsAtMs: null, acknowledged: null, silencedUntilMs: null, history: [],
    };
  }

  #refresh(group: Group): void {
    const alert = group.alert;
    const flows = group.flows.size;
    alert.flowCount = flows;
    alert.peakFlows = Math.max(alert.peakFlows, flows);
    alert.flowIds = [...group.flows].sort((a, b) => a[1] - b[1]).slice(0, this.#options.maxListedFlows).map(([flowId]) => flowId);
    if (flows > 0) alert.title = `${flows === 1 ? '1 flow' : `${flows} flows`} ${group.stuck.what}`; // a resolved alert keeps its last
  }
}

/** FNV-1a, 32 bits, as hex: a short, stable name for an alert key. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
