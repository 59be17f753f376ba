/**
 * Alerts on stuck chains, as a state machine with no delivery: flows that are stuck the same way ("waiting
 * for PaymentAuthorized from payment", "inventory failed handling PaymentAuthorized") make one alert, not
 * one per flow. An alert fires once enough flows are stuck that way, grows as more join, and resolves by
 * itself when they have all moved on (after a quiet time, so a flapping step does not fire twice); each
 * episode notifies once when it fires and once when it resolves. Pure: `nowMs` is passed in, and what
 * changed and the notifications to send are returned, for an adapter to store and deliver. Silences and
 * acknowledgements are people's notes on an alert, applied where notifications are delivered and alerts
 * read (as Alertmanager applies its silences in its notification pipeline), not states of the episode.
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
  /**
   * A failed flow stays failed, so it counts toward its alert this long after it failed: the alert says
   * failures are happening, and resolves once they stop. Default 900_000 (15 minutes).
   */
  failedWindowMs?: number;
  /**
   * A flow stalled longer than this is given up on: it leaves its alert (it is still listed as stalled),
   * so an alert does not fire for ever over orders nobody will finish. Default 86_400_000 (a day).
   */
  maxStuckMs?: number;
}

/** pending: fewer flows than minFlows, never shown or stored; firing; resolved (kept as history). */
export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertEvent {
  atMs: number;
  event: 'fired' | 'grew' | 'acknowledged' | 'silenced' | 'resolved';
  flows: number;
  /** Who acknowledged or silenced it. */
  by?: string;
}

export interface Alert {
  /** Stable for the episode, from its key and when it began; safe in a URL. */
  id: string;
  key: string;
  severity: AlertSeverity;
  state: AlertState;
  /** "37 flows waiting for PaymentAuthorized from payment". */
  title: string;
  /** What they are stuck on, said of one flow: "waiting for PaymentAuthorized from payment". */
  subject: string;
  /** Flows stuck this way now. */
  flowCount: number;
  /** The most flows stuck at once during the episode. */
  peakFlows: number;
  /** Some of them, the longest stuck first. */
  flowIds: FlowId[];
  /** When it fired. */
  startsAtMs: number;
  /** When its last flow moved on, for good: set when it resolves. */
  endsAtMs: number | null;
  /** Since when no flow is stuck this way (it resolves after resolveAfterMs of that); null while some are. */
  quietSinceMs: number | null;
  /** What happened to it, newest first: fired, grew (each time it doubled), resolved. */
  history: AlertEvent[];
}

export type NotificationKind = 'firing' | 'resolved';

/** One notification to deliver: an adapter stores it with the alert's state, then sends it, once. */
export interface AlertNotification {
  /** `<alert id>:<kind>`: the same across retries and restarts, for receivers that deduplicate. */
  id: string;
  alertId: string;
  kind: NotificationKind;
  alert: Alert;
}

/** What an evaluation changed: alerts to store (fired, changed, resolved) and notifications to send. */
export interface AlertChanges {
  alerts: Alert[];
  notifications: AlertNotification[];
}

/**
 * The alert key of a flow in this state, or null when the flow is not stuck. A flow stalled by the default
 * deadline after an event the model has never seen followed (a new deployment, a new event type) may just
 * have ended there: it shows as stalled, and alerts nobody until something is known to follow that event.
 */
export function stuckOn(state: FlowState, explanation: Explanation | null): StuckOn | null {
  if (explanation === null) return null;
  if (state === 'stalled' && explanation.kind !== 'failure') {
    if (!explanation.learned && !explanation.declared && explanation.awaitedEventTypes.length === 0) return null;
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
  /** Flow → since when it waits (or failed): the explanation's `sinceMs`. */
  flows: Map<FlowId, number>;
  alert: Alert;
  /** When the first of its flows leaves by time alone (maxStuckMs, failedWindowMs); Infinity when none. */
  nextExpiryMs: number;
}

/** Events an alert's history keeps, newest first. */
const MAX_HISTORY = 50;

export class AlertBook {
  readonly #options: Required<AlertOptions>;
  readonly #groups = new Map<string, Group>();
  /** Each flow's current key, so a flow that moves on or changes how it is stuck leaves its old group. */
  readonly #keyOf = new Map<FlowId, string>();
  readonly #changed = new Set<string>();

  constructor(options: AlertOptions = {}) {
    this.#options = {
      minFlows: options.minFlows ?? 1,
      resolveAfterMs: options.resolveAfterMs ?? 60_000,
      maxListedFlows: options.maxListedFlows ?? 20,
      failedWindowMs: options.failedWindowMs ?? 900_000,
      maxStuckMs: options.maxStuckMs ?? 86_400_000,
    };
  }

  /**
   * Takes back the alerts that were firing, as last stored (after a restart): their flows come back
   * through `observe` from the stored verdicts, and an alert that finds none resolves after its quiet time.
   */
  restore(alerts: readonly Alert[], nowMs: number): void {
    for (const stored of alerts) {
      if (stored.state !== 'firing' || this.#groups.has(stored.key)) continue;
      const stuck: StuckOn = { key: stored.key, severity: stored.severity, what: stored.subject };
      const alert: Alert = structuredClone(stored);
      alert.quietSinceMs ??= nowMs; // its flows, if still stuck, are observed next
      this.#groups.set(stored.key, { stuck, flows: new Map(), alert, nextExpiryMs: Infinity });
      this.#changed.add(stored.key);
    }
  }

  /** A flow's latest verdict: it joins the alert of what it is stuck on, or leaves its alert when it is not stuck any more. */
  observe(flowId: FlowId, state: FlowState, explanation: Explanation | null, nowMs: number): void {
    let stuck = stuckOn(state, explanation);
    if (stuck !== null && nowMs - explanation!.sinceMs >= this.#windowMs(stuck)) stuck = null; // given up on, or failed long ago
    const previous = this.#keyOf.get(flowId);
    if (previous !== undefined && previous !== stuck?.key) this.forget(flowId, nowMs);
    if (stuck === null || previous === stuck.key) return;
    let group = this.#groups.get(stuck.key);
    if (group === undefined) {
      group = { stuck, flows: new Map(), alert: this.#newAlert(stuck, nowMs), nextExpiryMs: Infinity };
      this.#groups.set(stuck.key, group);
    }
    const sinceMs = explanation!.sinceMs;
    group.flows.set(flowId, sinceMs);
    group.nextExpiryMs = Math.min(group.nextExpiryMs, sinceMs + this.#windowMs(stuck));
    group.alert.quietSinceMs = null;
    this.#keyOf.set(flowId, stuck.key);
    this.#changed.add(stuck.key);
  }

  /** A flow that is gone (merged into another, deleted), or no longer stuck: it leaves its alert. */
  forget(flowId: FlowId, nowMs: number): void {
    const key = this.#keyOf.get(flowId);
    if (key === undefined) return;
    const group = this.#groups.get(key)!;
    group.flows.delete(flowId);
    if (group.flows.size === 0) group.alert.quietSinceMs = nowMs;
    this.#keyOf.delete(flowId);
    this.#changed.add(key);
  }

  /** Alerts that fire, grow or resolve by now: what to store, and the notifications to send. */
  evaluate(nowMs: number): AlertChanges {
    const changes: AlertChanges = { alerts: [], notifications: [] };
    for (const [key, group] of this.#groups) {
      if (nowMs >= group.nextExpiryMs) this.#expire(group, nowMs);
      const alert = group.alert;
      const flows = group.flows.size;
      let changed = this.#changed.has(key);
      if (changed) this.#refresh(group);
      if (alert.state === 'pending' && flows >= this.#options.minFlows) {
        alert.state = 'firing';
        alert.startsAtMs = nowMs;
        this.#record(alert, { atMs: nowMs, event: 'fired', flows });
        changes.notifications.push(notification(alert, 'firing'));
        changed = true;
      } else if (alert.state === 'firing' && changed && flows >= 2 * lastCount(alert)) {
        this.#record(alert, { atMs: nowMs, event: 'grew', flows });
      }
      if (flows === 0 && alert.quietSinceMs !== null && nowMs - alert.quietSinceMs >= this.#options.resolveAfterMs) {
        this.#groups.delete(key);
        if (alert.state !== 'firing') continue; // never fired: nothing to resolve
        alert.state = 'resolved';
        alert.endsAtMs = alert.quietSinceMs;
        this.#record(alert, { atMs: nowMs, event: 'resolved', flows: 0 });
        changes.notifications.push(notification(alert, 'resolved'));
        changed = true;
      }
      if (changed && alert.state !== 'pending') changes.alerts.push(structuredClone(alert));
    }
    this.#changed.clear();
    return changes;
  }

  /** Alerts firing now, most flows first. */
  firing(): Alert[] {
    return [...this.#groups.values()].map((g) => g.alert).filter((a) => a.state === 'firing')
      .sort((a, b) => b.flowCount - a.flowCount || a.startsAtMs - b.startsAtMs).map((alert) => structuredClone(alert));
  }

  #windowMs(stuck: StuckOn): number {
    return stuck.key.startsWith('failed|') ? this.#options.failedWindowMs : this.#options.maxStuckMs;
  }

  /** Flows past their window leave the group. */
  #expire(group: Group, nowMs: number): void {
    const windowMs = this.#windowMs(group.stuck);
    let next = Infinity;
    for (const [flowId, sinceMs] of group.flows) {
      if (nowMs - sinceMs >= windowMs) this.forget(flowId, nowMs);
      else next = Math.min(next, sinceMs + windowMs);
    }
    group.nextExpiryMs = next;
  }

  #record(alert: Alert, event: AlertEvent): void {
    alert.history.unshift(event);
    if (alert.history.length > MAX_HISTORY) alert.history.length = MAX_HISTORY;
  }

  #newAlert(stuck: StuckOn, nowMs: number): Alert {
    return {
      id: `${fnv1a(stuck.key)}-${nowMs.toString(36)}`, key: stuck.key, severity: stuck.severity, state: 'pending', title: stuck.what, subject: stuck.what,
      flowCount: 0,
      peakFlows: 0, flowIds: [], startsAtMs: nowMs, endsAtMs: null, quietSinceMs: null, history: [],
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

function notification(alert: Alert, kind: NotificationKind): AlertNotification {
  return { id: `${alert.id}:${kind}`, alertId: alert.id, kind, alert: structuredClone(alert) };
}

/** The count last recorded in the history (when it fired or last grew). */
function lastCount(alert: Alert): number {
  return alert.history.find((event) => event.event === 'fired' || event.event === 'grew')?.flows ?? 0;
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
