/**
 * What the store keeps of alerts (migrations/007_alerts.sql): the episodes the assembling collector's
 * alert book writes with its rounds, the notes people add through the API of any collector, and the
 * outbox of notifications owed to receivers. alert-tables.ts holds the statements, the same for PGlite
 * and PostgreSQL.
 */
import type { Alert, AlertEvent, AlertNotification, NotificationKind } from '../core/alerts.ts';
import type { FlowId } from '../core/flow.ts';
import type { Explanation, FlowState } from '../core/stalls.ts';

/** An alert as stored: the episode, with what people noted on it and what was sent of it. */
export interface StoredAlert extends Alert {
  acknowledged: { atMs: number; by: string } | null;
  /** Its webhook and Slack notifications are held back until then; null: not silenced. */
  silencedUntilMs: number | null;
  /** Acknowledgements and silences, newest first. */
  notes: AlertEvent[];
  /** Its notifications, one per receiver: settled (delivered, given up, silenced) or still owed. */
  deliveries: NotificationDelivery[];
}

export interface NotificationDelivery {
  kind: NotificationKind;
  /** The receiver's digest (alerting/alert-sender.ts, receiverId): its kind, then a hash of its address. */
  receiver: string;
  /** `delivered`, `given up: <why>`, `silenced`; null while owed. */
  outcome: string | null;
  attempts: number;
  createdAtMs: number;
  settledAtMs: number | null;
}

/** A notification owed to one receiver, from the outbox. */
export interface OwedNotification {
  outboxId: string;
  receiver: string;
  notification: AlertNotification;
  /** The alert's silence as it stands now: webhook and Slack receivers hold back while it lasts. */
  silencedUntilMs: number | null;
  /** The alert as it stands now (null: gone with retention). */
  alertState: 'firing' | 'resolved' | null;
  alertEndsAtMs: number | null;
  /** For a resolved notification, how its receiver's firing one was settled (null: not yet, or none). */
  firingOutcome: string | null;
}

/** Which owed notifications a receiver's delivery takes next. */
export interface DueFilter {
  receiver: string;
  /** Outbox ids its sender already holds. */
  excluding: readonly string[];
  nowMs: number;
  /** Leave out those of alerts silenced past `nowMs` (webhook and Slack; Alertmanager applies its own silences). */
  holdSilenced: boolean;
}

/** A notification and the receivers it is owed to, stored with the round that made it. */
export interface NotificationOwed {
  notification: AlertNotification;
  receivers: string[];
}

export interface AlertStore {
  /** Alerts in this state, the latest to start first, at most `limit`. */
  listAlerts(state: 'firing' | 'resolved', limit: number): Promise<StoredAlert[]>;
  alert(alertId: string): Promise<StoredAlert | null>;
  /** Notes who looks at it; null when no alert has this id. */
  acknowledgeAlert(alertId: string, by: string, atMs: number): Promise<StoredAlert | null>;
  /** Holds its notifications back until `untilMs` (a past time lifts the silence); null when no alert has this id. */
  silenceAlert(alertId: string, untilMs: number, by: string, atMs: number): Promise<StoredAlert | null>;
  /** Firing alerts by severity, for /metrics. */
  countFiring(): Promise<{ critical: number; warning: number }>;
  /** The oldest notifications not yet settled, at most `limit`; with `due`, only one receiver's that are due. */
  owedNotifications(limit: number, due?: DueFilter): Promise<OwedNotification[]>;
  settleNotification(outboxId: string, outcome: string, attempts: number, atMs: number): Promise<void>;
  /** Settles what is owed to any receiver but these with `outcome`; how many. */
  abandonNotifications(keepReceivers: readonly string[], outcome: string, atMs: number): Promise<number>;
  /** Deletes resolved alerts that ended before `cutoffMs`, with their outbox rows; how many went. */
  deleteAlertsEndedBefore(cutoffMs: number): Promise<number>;
}

/** What the assembling collector's alert book starts from: the firing alerts and the flows stored as stuck. */
export interface StoredAlertState {
  firing: Alert[];
  stuck: { flowId: FlowId; state: FlowState; explanation: Explanation | null }[];
}
