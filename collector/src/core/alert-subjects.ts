/**
 * What a flow gives alerts to be about, each an `AlertSubject`: flows with the same subject key make one
 * alert (core/alerts.ts). A stalled flow's awaited step (critical) and a failed flow's failed step
 * (warning); and the flows issue's anomalies worth a person's time, at lower severity: a message
 * processed twice by one group (its handler must be idempotent), an event nobody consumed, trace context
 * lost at a service. A consumer group that stopped handling an event it always handled (topology drift)
 * is about the choreography, not a flow: `driftSubject`, for an alert with no flows.
 */
import type { Anomaly } from './flow.ts';
import type { Explanation, FlowState } from './stalls.ts';

/** critical: flows stuck; warning: flows failing, or something to fix; info: worth knowing. */
export type AlertSeverity = 'critical' | 'warning' | 'info';

/** What an alert is about: its kind is the key's first part. */
export type SubjectKind = 'stalled' | 'failed' | 'duplicate' | 'orphan' | 'gap' | 'drift';

export interface AlertSubject {
  /** `<kind>|<part>|…` (subjectKey): flows with the same key make one alert. */
  key: string;
  kind: SubjectKind;
  severity: AlertSeverity;
  /** Said of one flow ("waiting for PaymentAuthorized from payment"); the alert's title counts them. */
  what: string;
  /** When it began for this flow: its wait, its failure, its anomaly. */
  sinceMs: number;
}

/**
 * The stalled or failed step a flow is stuck on, or null. A flow stalled by the default deadline after an
 * event the model has never seen followed (a new deployment, a new event type) may just have ended there:
 * it shows as stalled, and alerts nobody until something is known (or declared) to follow that event.
 */
export function stuckOn(state: FlowState, explanation: Explanation | null): AlertSubject | null {
  if (explanation === null) return null;
  if (state === 'stalled' && explanation.kind !== 'failure') {
    if (!explanation.learned && !explanation.declared && explanation.awaitedEventTypes.length === 0) return null;
    const awaited = explanation.awaitedEventTypes.slice(0, 3).join(' or ') || 'the next event';
    const service = explanation.awaitedService ?? 'an unknown service';
    const silent = explanation.kind === 'next-event' ? explanation.handledWithoutSending ?? null : null;
    const what = explanation.kind === 'consumer'
      ? `waiting for ${service} (group ${explanation.consumerGroup}) to handle ${explanation.afterEventType}`
      : silent !== null
        ? `where ${silent.service} (group ${silent.consumerGroup}) finished handling ${explanation.afterEventType} without sending ${awaited}`
        : `waiting for ${awaited} from ${service}`;
    // the step, not what the model says of it: its likeliest next events and their service change as it
    // learns; a handling that ended silently names its group, so it is an alert apart from a slow step
    const key = subjectKey('stalled', explanation.afterEventType, explanation.afterService ?? '', explanation.kind, explanation.consumerGroup ?? '');
    return { key, kind: 'stalled', severity: 'critical', what, sinceMs: explanation.sinceMs };
  }
  if (state === 'failed' && explanation.kind === 'failure') {
    const what = explanation.consumerGroup === null
      ? `${explanation.service} failed to send ${explanation.eventType ?? 'an event'}`
      : `${explanation.service} (group ${explanation.consumerGroup}) failed handling ${explanation.eventType ?? 'an event'}`;
    const key = subjectKey('failed', explanation.service, explanation.eventType ?? '', explanation.consumerGroup ?? '');
    return { key, kind: 'failed', severity: 'warning', what, sinceMs: explanation.sinceMs };
  }
  return null;
}

/**
 * The anomalies of a flow worth an alert, one subject per kind and place, each dated by its own spans, so
 * a flow's later events do not make an old anomaly new; `lastEventMs` dates one stored before anomalies
 * carried their time.
 */
export function anomalySubjects(anomalies: readonly Anomaly[], lastEventMs: number): AlertSubject[] {
  if (anomalies.length === 0) return [];
  const subjects = new Map<string, AlertSubject>();
  const add = (subject: AlertSubject) => {
    if (!subjects.has(subject.key)) subjects.set(subject.key, subject);
  };
  for (const anomaly of anomalies) {
    if (anomaly.type === 'duplicate-delivery') {
      const event = anomaly.eventType ?? anomaly.destination ?? 'a message';
      add({
        key: subjectKey('duplicate', anomaly.service, anomaly.consumerGroup, anomaly.eventType ?? ''), kind: 'duplicate', severity: 'warning',
        what: `with ${event} processed more than once by ${anomaly.service} (group ${anomaly.consumerGroup}): its handler must be idempotent`,
        sinceMs: anomaly.repeatedAtMs ?? lastEventMs,
      });
    } else if (anomaly.type === 'orphan-event') {
      const on = anomaly.destination === null ? '' : ` on ${anomaly.destination}`;
      add({
        key: subjectKey('orphan', anomaly.eventType ?? '', anomaly.destination ?? ''), kind: 'orphan', severity: 'warning',
        what: `with ${anomaly.eventType ?? 'an event'}${on} from ${anomaly.service} that no consumer handled`, sinceMs: anomaly.producedAtMs,
      });
    } else if (anomaly.type === 'propagation-gap') {
      const on = anomaly.destination === null ? '' : ` on topic ${anomaly.destination}`;
      add({
        key: subjectKey('gap', anomaly.service, anomaly.destination ?? ''), kind: 'gap', severity: 'info',
        what: `whose trace context was lost at ${anomaly.service}${on}`, sinceMs: anomaly.lostAtMs ?? lastEventMs,
      });
    }
  }
  return [...subjects.values()];
}

/** Everything a flow's latest description gives alerts to be about. */
export function subjectsOf(state: FlowState, explanation: Explanation | null, anomalies: readonly Anomaly[], lastEventMs: number): AlertSubject[] {
  const stuck = stuckOn(state, explanation);
  const others = anomalySubjects(anomalies, lastEventMs);
  return stuck === null ? others : [stuck, ...others];
}

/** A consumer group that stopped handling an event type it handled, since `sinceMs` (its last handling). */
export function driftSubject(eventType: string, group: string, service: string, sinceMs: number): AlertSubject {
  return {
    key: subjectKey('drift', eventType, group), kind: 'drift', severity: 'warning',
    what: `${service} (group ${group}) stopped handling ${eventType}`, sinceMs,
  };
}

/** A consumer group that handled an event type, quiet since: the event catalogue's last sighting, and what was sent after it. */
export interface QuietConsumer {
  eventType: string;
  service: string;
  consumerGroup: string;
  lastSeenMs: number;
  /** Events of the type sent on its topic after the group last handled one. */
  producedSince: number;
}

/**
 * Topology drift: a group gone quiet while its event goes on being sent (`minProduced` of them since its
 * last handling) has disappeared; a group quiet because nothing was sent has not.
 */
export function driftSubjects(quiet: readonly QuietConsumer[], minProduced: number): AlertSubject[] {
  return quiet.filter((consumer) => consumer.consumerGroup !== '' && consumer.producedSince >= minProduced)
    .map((consumer) => driftSubject(consumer.eventType, consumer.consumerGroup, consumer.service, consumer.lastSeenMs));
}

/**
 * A subject's key: its kind, then its parts, each escaped (names from spans may hold `|`), so two
 * subjects share a key only when every part is the same.
 */
export function subjectKey(kind: SubjectKind, ...parts: string[]): string {
  return [kind, ...parts.map((part) => part.replaceAll('%', '%25').replaceAll('|', '%7C'))].join('|');
}

/** The parts of a key, as given to subjectKey. */
export function keyParts(key: string): string[] {
  return key.split('|').slice(1).map((part) => part.replaceAll('%7C', '|').replaceAll('%25', '%'));
}

export function kindOf(key: string): SubjectKind {
  return key.slice(0, key.indexOf('|')) as SubjectKind;
}
