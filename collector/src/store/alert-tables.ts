/**
 * The statements over the alert tables (migrations/007_alerts.sql), in plain PostgreSQL for both stores:
 * the API's reads and notes, the outbox delivery reads and settles, and what the assembly session loads
 * and writes with a round. Lists travel as JSON text parameters, as span batches do.
 */
import type { QuietConsumer } from '../core/alert-subjects.ts';
import type { Alert, AlertEvent } from '../core/alerts.ts';
import type { Explanation, FlowState } from '../core/stalls.ts';
import type { AlertStore, NotificationDelivery, NotificationOwed, OwedNotification, StoredAlert, StoredAlertState } from './alert-store.ts';
import type { ReadRows } from './queries.ts';
import type { SqlSession } from './sql-client.ts';

/** Notes kept on an alert, newest first. */
const MAX_NOTES = 50;

const ALERT_COLUMNS = `a.alert, a.acknowledged, a.silenced_until_ms, a.notes,
  coalesce((SELECT jsonb_agg(jsonb_build_object('kind', o.notification->>'kind', 'receiver', o.receiver, 'outcome', o.outcome,
    'attempts', o.attempts, 'createdAtMs', o.created_at_ms, 'settledAtMs', o.settled_at_ms) ORDER BY o.id)
    FROM alert_outbox o WHERE o.alert_id = a.alert_id), '[]'::jsonb) AS deliveries`;
const LIST_ALERTS = `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.state = $1 ORDER BY a.starts_at_ms DESC, a.alert_id LIMIT $2`;
const ONE_ALERT = `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.alert_id = $1`;
// a note goes first in the list, which keeps its latest MAX_NOTES
const NOTE = (event: AlertEvent['event']) => `jsonb_path_query_array(jsonb_build_array(jsonb_build_object('atMs', $2::float8,
  'event', '${event}', 'flows', (alert->>'flowCount')::int, 'by', $3::text)) || notes, '$[0 to ${MAX_NOTES - 1}]')`;
const ACKNOWLEDGE = `UPDATE alerts SET acknowledged = jsonb_build_object('atMs', $2::float8, 'by', $3::text), notes = ${NOTE('acknowledged')}
  WHERE alert_id = $1 RETURNING alert_id`;
const SILENCE = `UPDATE alerts SET silenced_until_ms = $4::float8, notes = ${NOTE('silenced')} WHERE alert_id = $1 RETURNING alert_id`;
const COUNT_FIRING = `SELECT alert->>'severity' AS severity, count(*)::float8 AS alerts FROM alerts WHERE state = 'firing' GROUP BY 1`;
const OWED_COLUMNS = `o.id::text AS outbox_id, o.receiver, o.notification, a.state AS alert_state, a.ends_at_ms, a.silenced_until_ms,
  (SELECT f.outcome FROM alert_outbox f WHERE f.alert_id = o.alert_id AND f.receiver = o.receiver AND f.id < o.id
    AND f.notification->>'kind' = 'firing' ORDER BY f.id DESC LIMIT 1) AS firing_outcome`;
const OWED = `SELECT ${OWED_COLUMNS}
  FROM alert_outbox o LEFT JOIN alerts a ON a.alert_id = o.alert_id WHERE o.settled_at_ms IS NULL ORDER BY o.id LIMIT $1`;
// one receiver's, less those its sender holds ($2, a JSON list: NOT IN hashes it, <> ALL would not) and those a
// silence holds back past $3
const DUE = `SELECT ${OWED_COLUMNS}
  FROM alert_outbox o LEFT JOIN alerts a ON a.alert_id = o.alert_id
  WHERE o.settled_at_ms IS NULL AND o.receiver = $1
    AND o.id NOT IN (SELECT value::bigint FROM jsonb_array_elements_text($2::text::jsonb))
    AND (NOT $4::boolean OR a.silenced_until_ms IS NULL OR a.silenced_until_ms <= $3)
  ORDER BY o.id LIMIT $5`;
const SETTLE = 'UPDATE alert_outbox SET outcome = $2, attempts = attempts + $3, settled_at_ms = $4 WHERE id = $1::bigint';
const ABANDON = `WITH settled AS (
  UPDATE alert_outbox SET outcome = $2, settled_at_ms = $3
  WHERE settled_at_ms IS NULL AND receiver <> ALL (SELECT value FROM jsonb_array_elements_text($1::text::jsonb)) RETURNING 1
) SELECT count(*)::float8 AS rows FROM settled`;
const DELETE_ENDED = `WITH doomed AS (
  DELETE FROM alerts WHERE state = 'resolved' AND ends_at_ms < $1 RETURNING alert_id
), outbox AS (
  DELETE FROM alert_outbox o USING doomed d WHERE o.alert_id = d.alert_id
) SELECT count(*)::float8 AS alerts FROM doomed`;

const FIRING_ALERTS = `SELECT alert FROM alerts WHERE state = 'firing'`;
// consumer groups by event type, whatever service or topic they were seen under (a renamed service is the same
// group going on), last seen in [$2, $1), with the events of that type sent on their topics in the minutes after
const QUIET_CONSUMERS = `WITH groups AS (
  SELECT event_type, consumer_group, max(last_seen_ms) AS last_seen_ms,
    (array_agg(service ORDER BY last_seen_ms DESC))[1] AS service, array_agg(DISTINCT destination) AS destinations
  FROM event_catalog WHERE role = 'consumer' AND consumer_group <> '' GROUP BY event_type, consumer_group
)
SELECT g.event_type, g.service, g.consumer_group, g.last_seen_ms,
  coalesce((SELECT sum(r.produced) FROM event_rates r WHERE r.event_type = g.event_type AND r.destination = ANY (g.destinations)
    AND r.minute_ms > g.last_seen_ms), 0)::float8 AS produced_since
FROM groups g WHERE g.last_seen_ms < $1 AND g.last_seen_ms >= $2`;
// a flow stuck longer ago than the window cannot count toward an alert: its wait began before its last event
const STUCK_FLOWS = `SELECT flow_id, state, explanation FROM flows WHERE state IN ('stalled', 'failed') AND last_event_ms >= $1`;
const UPSERT_ALERTS = `
INSERT INTO alerts (alert_id, alert_key, state, starts_at_ms, ends_at_ms, alert)
SELECT r.value->>'id', r.value->>'key', r.value->>'state', (r.value->>'startsAtMs')::float8, (r.value->>'endsAtMs')::float8, r.value
FROM jsonb_array_elements($1::text::jsonb) r
ON CONFLICT (alert_id) DO UPDATE SET state = EXCLUDED.state, starts_at_ms = EXCLUDED.starts_at_ms, ends_at_ms = EXCLUDED.ends_at_ms,
  alert = EXCLUDED.alert`;
const OWE_NOTIFICATIONS = `
INSERT INTO alert_outbox (alert_id, receiver, notification, created_at_ms)
SELECT r.value->'notification'->>'alertId', t.receiver, r.value->'notification', $2
FROM jsonb_array_elements($1::text::jsonb) r, jsonb_array_elements_text(r.value->'receivers') AS t(receiver)`;

interface AlertRow {
  alert: Alert;
  acknowledged: { atMs: number; by: string } | null;
  silenced_until_ms: number | null;
  notes: AlertEvent[];
  deliveries: NotificationDelivery[];
}

interface OwedRow {
  outbox_id: string;
  receiver: string;
  notification: OwedNotification['notification'];
  alert_state: 'firing' | 'resolved' | null;
  ends_at_ms: number | null;
  silenced_until_ms: number | null;
  firing_outcome: string | null;
}

function storedAlert(row: AlertRow): StoredAlert {
  return { ...row.alert, acknowledged: row.acknowledged, silencedUntilMs: row.silenced_until_ms, notes: row.notes, deliveries: row.deliveries };
}

export function alertTables(read: ReadRows): AlertStore {
  const one = async (alertId: string) => {
    const [row] = await read<AlertRow>('an alert', ONE_ALERT, [alertId]);
    return row === undefined ? null : storedAlert(row);
  };
  return {
    async listAlerts(state, limit) {
      return (await read<AlertRow>('alerts', LIST_ALERTS, [state, limit])).map(storedAlert);
    },
    alert: one,
    async acknowledgeAlert(alertId, by, atMs) {
      const updated = await read('acknowledge an alert', ACKNOWLEDGE, [alertId, atMs, by]);
      return updated.length === 0 ? null : one(alertId);
    },
    async silenceAlert(alertId, untilMs, by, atMs) {
      const updated = await read('silence an alert', SILENCE, [alertId, atMs, by, untilMs]);
      return updated.length === 0 ? null : one(alertId);
    },
    async countFiring() {
      const counts = { critical: 0, warning: 0 };
      for (const row of await read<{ severity: string; alerts: number }>('firing alerts', COUNT_FIRING, [])) {
        if (row.severity === 'critical' || row.severity === 'warning') counts[row.severity] = row.alerts;
      }
      return counts;
    },
    async owedNotifications(limit, due) {
      const rows = due === undefined
        ? await read<OwedRow>('owed notifications', OWED, [limit])
        : await read<OwedRow>('due notifications', DUE, [due.receiver, JSON.stringify(due.excluding), due.nowMs, due.holdSilenced, limit]);
      return rows.map((row) => ({
        outboxId: row.outbox_id, receiver: row.receiver, notification: row.notification, silencedUntilMs: row.silenced_until_ms,
        alertState: row.alert_state, alertEndsAtMs: row.ends_at_ms, firingOutcome: row.firing_outcome,
      }));
    },
    async settleNotification(outboxId, outcome, attempts, atMs) {
      await read('settle a notification', SETTLE, [outboxId, outcome, attempts, atMs]);
    },
    async abandonNotifications(keepReceivers, outcome, atMs) {
      const [row] = await read<{ rows: number }>('give up notifications', ABANDON, [JSON.stringify(keepReceivers), outcome, atMs]);
      return row?.rows ?? 0;
    },
    async deleteAlertsEndedBefore(cutoffMs) {
      const [row] = await read<{ alerts: number }>('delete old alerts', DELETE_ENDED, [cutoffMs]);
      return row?.alerts ?? 0;
    },
  };
}

/** The firing alerts and the flows stored as stuck since `stuckSinceMs`: what the alert book starts from. */
export async function loadAlertState(read: ReadRows, stuckSinceMs: number): Promise<StoredAlertState> {
  const firing = await read<{ alert: Alert }>('firing alerts', FIRING_ALERTS, []);
  const stuck = await read<{ flow_id: string; state: FlowState; explanation: Explanation | null }>('stuck flows', STUCK_FLOWS, [stuckSinceMs]);
  return { firing: firing.map((row) => row.alert), stuck: stuck.map((row) => ({ flowId: row.flow_id, state: row.state, explanation: row.explanation })) };
}

/** Consumer groups quiet since before `quietBeforeMs`, heard from since `seenSinceMs` (topology drift, alert-subjects.ts). */
export async function quietConsumers(read: ReadRows, quietBeforeMs: number, seenSinceMs: number): Promise<QuietConsumer[]> {
  const rows = await read<{ event_type: string; service: string; consumer_group: string; last_seen_ms: number; produced_since: number }>(
    'quiet consumer groups', QUIET_CONSUMERS, [quietBeforeMs, seenSinceMs]);
  return rows.map((row) => ({
    eventType: row.event_type, service: row.service, consumerGroup: row.consumer_group, lastSeenMs: row.last_seen_ms, producedSince: row.produced_since,
  }));
}

/** A round's alerts and the notifications they owe, in the round's transaction. */
export async function writeAlerts(tx: SqlSession, alerts: readonly Alert[], owed: readonly NotificationOwed[], nowMs: number): Promise<void> {
  // one row per alert, its latest state (an upsert may not touch a row twice)
  const latest = [...new Map(alerts.map((alert) => [alert.id, alert])).values()];
  if (latest.length > 0) await tx.query(UPSERT_ALERTS, [JSON.stringify(latest)]);
  const addressed = owed.filter((entry) => entry.receivers.length > 0);
  if (addressed.length > 0) await tx.query(OWE_NOTIFICATIONS, [JSON.stringify(addressed), nowMs]);
}
