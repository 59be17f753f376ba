/**
 * Alerts on stuck chains, as a state machine with no delivery: flows that are stuck the same way ("waiting
 * for PaymentAuthorized from payment", "inventory failed handling PaymentAuthorized") make one alert, not
 * one per flow; so do flows with the same anomaly ("processed twice by inventory"), at lower severity
 * (alert-subjects.ts). An alert fires once enough flows are stuck that way, grows as more join, and
 * resolves by itself when they have all moved on (after a quiet time, so a flapping step does not fire
 * twice); each episode notifies once when it fires and once when it resolves. An alert about the
 * choreography itself (a consumer group gone) holds no flows: it fires while its condition holds. Pure:
 * `nowMs` is passed in, and what changed and the notifications to send are returned, for an adapter to
 * store and deliver. Silences and acknowledgements are people's notes on an alert, applied where
 * notifications are delivered and alerts read (as Alertmanager applies its silences in its notification
 * pipeline), not states of the episode.
 */
import { kindOf, type AlertSeverity, type AlertSubject } from './alert-subjects.ts';
import type { FlowId } from './flow.ts';

export type { AlertSeverity, AlertSubject } from './alert-subjects.ts';
export { anomalySubjects, driftSubject, driftSubjects, stuckOn, subjectsOf } from './alert-subjects.ts';

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
  /** A flow's anomaly (a duplicate delivery, an orphan event, lost context) counts toward its alert this long. Default 900_000. */
  anomalyWindowMs?: number;
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
  /** When the latest of its flows got this way (its wait began, it failed, its anomaly happened); for a condition, when it began. */
  lastSeenMs: number;
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

interface Group {
  subject: AlertSubject;
  /** Flow → since when it is this way (the subject's `sinceMs`). */
  flows: Map<FlowId, number>;
  alert: Alert;
  /** When the first of its flows leaves by time alone (its kind's window); Infinity when none. */
  nextExpiryMs: number;
  /** An alert about the choreography, with no flows: whether its condition holds now; null for a flow alert. */
  holds: boolean | null;
}

/** Events an alert's history keeps, newest first. */
const MAX_HISTORY = 50;

export class AlertBook {
  readonly #options: Required<AlertOptions>;
  readonly #groups = new Map<string, Group>();
  /** Each flow's current subject keys, so a flow that moves on leaves the alerts it was in. */
  readonly #keysOf = new Map<FlowId, Set<string>>();
  readonly #changed = new Set<string>();

  constructor(options: AlertOptions = {}) {
    this.#options = {
      minFlows: options.minFlows ?? 1,
      resolveAfterMs: options.resolveAfterMs ?? 60_000,
      maxListedFlows: options.maxListedFlows ?? 20,
      failedWindowMs: options.failedWindowMs ?? 900_000,
      maxStuckMs: options.maxStuckMs ?? 86_400_000,
      anomalyWindowMs: options.anomalyWindowMs ?? 900_000,
    };
  }

  /**
   * Takes back the alerts that were firing, as last stored (after a restart): the flows of stalled and
   * failed ones come back through `observe` from the stored verdicts, and an alert that finds none resolves
   * after its quiet time. An anomaly's flows are not stored as such: its alert stays firing, quiet, until
   * its window after the latest of them has passed. A condition is checked again by its caller.
   */
  restore(alerts: readonly Alert[], nowMs: number): void {
    for (const stored of alerts) {
      if (stored.state !== 'firing' || this.#groups.has(stored.key)) continue;
      const kind = kindOf(stored.key);
      const subject: AlertSubject = { key: stored.key, kind, severity: stored.severity, what: stored.subject, sinceMs: stored.lastSeenMs };
      const alert: Alert = structuredClone(stored);
      const anomaly = kind === 'duplicate' || kind === 'orphan' || kind === 'gap';
      alert.quietSinceMs = anomaly ? Math.max(nowMs, stored.lastSeenMs + this.#options.anomalyWindowMs) : alert.quietSinceMs ?? nowMs;
      this.#groups.set(stored.key, { subject, flows: new Map(), alert, nextExpiryMs: Infinity, holds: kind === 'drift' ? false : null });
      this.#changed.add(stored.key);
    }
  }

  /**
   * A flow's latest description: it joins the alert of each subject it has (alert-subjects.ts,
   * `subjectsOf`), and leaves those it no longer has. A subject older than its kind's window is none.
   */
  observe(flowId: FlowId, subjects: readonly AlertSubject[], nowMs: number): void {
    if (subjects.length === 0 && !this.#keysOf.has(flowId)) return; // most flows: stuck on nothing, before and now
    const current = subjects.filter((subject) => nowMs - subject.sinceMs < this.#windowMs(subject.kind));
    const keys = new Set(current.map((subject) => subject.key));
    const previous = this.#keysOf.get(flowId);
    for (const key of previous ?? []) if (!keys.has(key)) this.#leave(flowId, key, nowMs);
    for (const subject of current) {
      if (previous?.has(subject.key)) continue;
      const group = this.#groupFor(subject, nowMs);
      group.flows.set(flowId, subject.sinceMs);
      group.nextExpiryMs = Math.min(group.nextExpiryMs, subject.sinceMs + this.#windowMs(subject.kind));
      group.alert.quietSinceMs = null;
      group.alert.lastSeenMs = Math.max(group.alert.lastSeenMs, subject.sinceMs);
      this.#changed.add(subject.key);
    }
    if (keys.size === 0) this.#keysOf.delete(flowId);
    else this.#keysOf.set(flowId, keys);
  }

  /** A flow that is gone (merged into another, deleted): it leaves every alert it was in. */
  forget(flowId: FlowId, nowMs: number): void {
    for (const key of this.#keysOf.get(flowId) ?? []) this.#leave(flowId, key, nowMs);
    this.#keysOf.delete(flowId);
  }

  /** An alert about the choreography (no flows): it fires while `holds`, and resolves a quiet time after it stops holding. */
  condition(subject: AlertSubject, holds: boolean, nowMs: number): void {
    const existing = this.#groups.get(subject.key);
    if (existing === undefined && !holds) return;
    const group = existing ?? this.#groupFor(subject, nowMs);
    if (group.holds === holds) return;
    group.holds = holds;
    group.alert.quietSinceMs = holds ? null : nowMs;
    if (holds) group.alert.lastSeenMs = Math.max(group.alert.lastSeenMs, subject.sinceMs);
    this.#changed.add(subject.key);
  }

  /** The conditions that hold now, so a caller can tell which stopped holding. */
  conditions(): AlertSubject[] {
    return [...this.#groups.values()].filter((group) => group.holds === true).map((group) => group.subject);
  }

  #groupFor(subject: AlertSubject, nowMs: number): Group {
    let group = this.#groups.get(subject.key);
    if (group === undefined) {
      group = { subject, flows: new Map(), alert: this.#newAlert(subject, nowMs), nextExpiryMs: Infinity, holds: subject.kind === 'drift' ? false : null };
      this.#groups.set(subject.key, group);
    }
    return group;
  }

  #leave(flowId: FlowId, key: string, nowMs: number): void {
    const group = this.#groups.get(key);
    if (group === undefined || !group.flows.delete(flowId)) return;
    if (group.flows.size === 0) group.alert.quietSinceMs = nowMs;
    this.#changed.add(key);
  }

  /** Alerts that fire, grow or resolve by now: what to store, and the notifications to send. */
  evaluate(nowMs: number): AlertChanges {
    const changes: AlertChanges = { alerts: [], notifications: [] };
    for (const [key, group] of this.#groups) {
      if (nowMs >= group.nextExpiryMs) this.#expire(group, nowMs);
      const alert = group.alert;
      const flows = group.flows.size;
      // a condition counts as enough trouble to fire while it holds
      const active = group.holds === null ? flows : group.holds ? Math.max(1, this.#options.minFlows) : 0;
      let changed = this.#changed.has(key);
      if (changed) this.#refresh(group);
      if (alert.state === 'pending' && active >= this.#options.minFlows) {
        alert.state = 'firing';
        alert.startsAtMs = nowMs;
        this.#record(alert, { atMs: nowMs, event: 'fired', flows });
        changes.notifications.push(notification(alert, 'firing'));
        changed = true;
      } else if (alert.state === 'firing' && changed && group.holds === null && flows >= 2 * lastCount(alert)) {
        this.#record(alert, { atMs: nowMs, event: 'grew', flows });
      }
      if (active === 0 && alert.quietSinceMs !== null && nowMs - alert.quietSinceMs >= this.#options.resolveAfterMs) {
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

  /** How long a flow counts toward an alert of this kind after it got that way. */
  #windowMs(kind: AlertSubject['kind']): number {
    if (kind === 'stalled') return this.#options.maxStuckMs;
    if (kind === 'failed') return this.#options.failedWindowMs;
    return this.#options.anomalyWindowMs;
  }

  /** Flows past their window leave the group. */
  #expire(group: Group, nowMs: number): void {
    const windowMs = this.#windowMs(group.subject.kind);
    let next = Infinity;
    for (const [flowId, sinceMs] of [...group.flows]) {
      if (nowMs - sinceMs < windowMs) {
        next = Math.min(next, sinceMs + windowMs);
        continue;
      }
      this.#leave(flowId, group.subject.key, nowMs);
      const keys = this.#keysOf.get(flowId);
      keys?.delete(group.subject.key);
      if (keys?.size === 0) this.#keysOf.delete(flowId);
    }
    group.nextExpiryMs = next;
  }

  #record(alert: Alert, event: AlertEvent): void {
    alert.history.unshift(event);
    if (alert.history.length > MAX_HISTORY) alert.history.length = MAX_HISTORY;
  }

  #newAlert(subject: AlertSubject, nowMs: number): Alert {
    return {
      id: `${fnv1a(subject.key)}-${nowMs.toString(36)}`, key: subject.key, severity: subject.severity, state: 'pending', title: subject.what,
      subject: subject.what, flowCount: 0, peakFlows: 0, flowIds: [], startsAtMs: nowMs, endsAtMs: null, quietSinceMs: null,
      lastSeenMs: subject.sinceMs, history: [],
    };
  }

  #refresh(group: Group): void {
    const alert = group.alert;
    const flows = group.flows.size;
    alert.flowCount = flows;
    alert.peakFlows = Math.max(alert.peakFlows, flows);
    alert.flowIds = [...group.flows].sort((a, b) => a[1] - b[1]).slice(0, this.#options.maxListedFlows).map(([flowId]) => flowId);
    if (group.holds !== null) alert.title = group.subject.what; // about the choreography: no flows to count
    else if (flows > 0) alert.title = `${flows === 1 ? '1 flow' : `${flows} flows`} ${group.subject.what}`; // a resolved alert keeps its last
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
