/**
 * What each kind of receiver is sent for an alert notification (core/alerts.ts): Choreoscope's own JSON
 * (the generic webhook), Prometheus Alertmanager's `POST /api/v2/alerts` body, or a Slack incoming
 * webhook's message. Each links to the dashboard's view of the alert's flows when the collector knows its
 * public address. Alert titles carry service and event names from spans: untrusted text, escaped for
 * Slack's markup and never interpreted.
 */
import { keyParts, kindOf, type SubjectKind } from '../core/alert-subjects.ts';
import type { Alert, AlertNotification } from '../core/alerts.ts';

export type ReceiverKind = 'webhook' | 'alertmanager' | 'slack';

/** The generic webhook's body: the notification as it is, with links. */
export interface WebhookBody {
  /** `choreoscope.alert/v1`, so receivers can tell the format. */
  version: string;
  /** The notification's id, the same on every attempt: a receiver may drop one it has seen. */
  id: string;
  kind: AlertNotification['kind'];
  alert: Alert;
  /** The dashboard's view of the alert and of each listed flow; null without `--public-url`. */
  links: { alert: string; flows: string[] } | null;
}

/** One alert as Alertmanager's API v2 takes it (a PostableAlert). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** Set when the alert resolved: Alertmanager then resolves it too. */
  endsAt?: string;
  generatorURL?: string;
}

export function webhookBody(notification: AlertNotification, publicUrl: string | null): WebhookBody {
  return { version: 'choreoscope.alert/v1', id: notification.id, kind: notification.kind, alert: notification.alert, links: links(notification.alert, publicUrl) };
}

/**
 * Alertmanager deduplicates by labels, so they name what is stuck (the alert's key), not the episode;
 * it resolves an alert it stops hearing about, so a firing alert is sent again while it fires (the sender's
 * job), and a resolved one is sent once with its end.
 */
export function alertmanagerAlerts(notification: AlertNotification, publicUrl: string | null): AlertmanagerAlert[] {
  const alert = notification.alert;
  const parts = keyParts(alert.key);
  const { alertname, labels: names } = ALERTMANAGER_LABELS[kindOf(alert.key)];
  const labels: Record<string, string> = { alertname, severity: alert.severity };
  names.forEach((name, i) => {
    if (parts[i]) labels[name] = parts[i]!;
  });
  const link = links(alert, publicUrl);
  return [{
    labels,
    annotations: { summary: alert.title, flows: String(alert.flowCount), choreoscope_alert_id: alert.id },
    startsAt: new Date(alert.startsAtMs).toISOString(),
    ...(notification.kind === 'resolved' && alert.endsAtMs !== null ? { endsAt: new Date(alert.endsAtMs).toISOString() } : {}),
    ...(link === null ? {} : { generatorURL: link.alert }),
  }];
}

/** A Slack incoming webhook's message: one line of text, the title escaped, with a link when known. */
export function slackMessage(notification: AlertNotification, publicUrl: string | null): { text: string } {
  const alert = notification.alert;
  const link = links(alert, publicUrl);
  const title = slackEscape(alert.title);
  const head = notification.kind === 'firing' ? `:rotating_light: ${title}` : `:white_check_mark: resolved: ${title}`;
  return { text: link === null ? head : `${head} <${link.alert}|open in Choreoscope>` };
}

/** Slack's control characters in text: everything else is shown as written. */
export function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Per kind of alert, its Alertmanager alertname and the labels its key's parts become, in order. */
const ALERTMANAGER_LABELS: Record<SubjectKind, { alertname: string; labels: string[] }> = {
  stalled: { alertname: 'ChoreoscopeFlowsStalled', labels: ['after_event_type', 'after_service', 'wait', 'consumer_group'] },
  failed: { alertname: 'ChoreoscopeFlowsFailed', labels: ['service', 'event_type', 'consumer_group'] },
  duplicate: { alertname: 'ChoreoscopeDuplicateDeliveries', labels: ['service', 'consumer_group', 'event_type'] },
  orphan: { alertname: 'ChoreoscopeOrphanEvents', labels: ['event_type', 'topic'] },
  gap: { alertname: 'ChoreoscopeTraceContextLost', labels: ['service', 'topic'] },
  drift: { alertname: 'ChoreoscopeConsumerGroupGone', labels: ['event_type', 'consumer_group'] },
};

function links(alert: Alert, publicUrl: string | null): WebhookBody['links'] {
  if (publicUrl === null) return null;
  const base = publicUrl.replace(/\/+$/, '');
  return {
    alert: `${base}/#/alerts/${encodeURIComponent(alert.id)}`,
    flows: alert.flowIds.map((flowId) => `${base}/#/flows/${encodeURIComponent(flowId)}`),
  };
}
