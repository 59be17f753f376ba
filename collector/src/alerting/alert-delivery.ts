/**
 * Delivers the notifications the flow worker's rounds stored in the outbox (store/alert-store.ts), while
 * this collector assembles: each row goes to its receiver once, and is settled in the store (delivered,
 * given up, or held back by the alert's silence) as soon as its outcome is known. A notification stored
 * and not yet settled when the collector dies is delivered after the restart; one delivered but not yet
 * settled (the moment between the receiver's answer and the store's update) may be delivered twice, and
 * carries the same id both times (the webhook's `id`, the `Idempotency-Key` header) for receivers that
 * deduplicate.
 *
 * Alertmanager resolves an alert it has not heard of for its resolve_timeout (5 minutes by default), so
 * firing alerts are sent to it again every `resendEveryMs`. It applies silences of its own, so it is told
 * the truth whatever Choreoscope's silence says; webhook and Slack receivers are held back by it.
 */
import type { AlertNotification } from '../core/alerts.ts';
import type { AlertNotifier } from '../flows/flow-worker.ts';
import type { CollectorMetrics } from '../ops/metrics.ts';
import type { AlertStore, OwedNotification } from '../store/alert-store.ts';
import { AlertSender, receiverId, type AlertSenderOptions, type DeliveryOutcome, type Receiver } from './alert-sender.ts';

export interface AlertDeliveryOptions extends Omit<AlertSenderOptions, 'onSettled'> {
  store: AlertStore;
  /** How often firing alerts are sent again to Alertmanager receivers. Default 60_000. */
  resendEveryMs?: number;
  /** How often the outbox is looked at besides after each round that stored notifications. Default 5_000. */
  pollIntervalMs?: number;
  metrics?: CollectorMetrics;
  log?: { warn(details: object, message: string): void };
  now?: () => number;
}

/** Outbox rows read per look. */
const OWED_PER_LOOK = 500;

export class AlertDelivery implements AlertNotifier {
  readonly receivers: readonly string[];
  readonly #options: AlertDeliveryOptions;
  readonly #now: () => number;
  readonly #kinds: ReadonlyMap<string, Receiver['kind']>;
  #sender: AlertSender | null = null;
  /** Outbox rows handed to the sender, not yet settled in the store. */
  readonly #inFlight = new Set<string>();
  /** Outcomes the store has not taken yet (it was unavailable): written again at the next look. */
  readonly #unsettled = new Map<string, { outcome: string; attempts: number; atMs: number }>();
  #looking: Promise<void> | null = null;
  #again = false;
  #timers: NodeJS.Timeout[] = [];
  #lastProblem: string | null = null;

  constructor(options: AlertDeliveryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.receivers = options.receivers.map(receiverId);
    this.#kinds = new Map(options.receivers.map((receiver) => [receiverId(receiver), receiver.kind]));
  }

  assembling(active: boolean): void {
    if (active && this.#sender === null && this.receivers.length > 0) {
      this.#sender = new AlertSender({ ...this.#options, onSettled: (outcome) => this.#settled(outcome) });
      this.#timers = [setInterval(() => this.owed(), this.#options.pollIntervalMs ?? 5_000)];
      if (this.receivers.some((id) => this.#kinds.get(id) === 'alertmanager')) {
        this.#timers.push(setInterval(() => void this.#resendFiring(), this.#options.resendEveryMs ?? 60_000));
      }
      for (const timer of this.#timers) timer.unref();
      this.owed();
    } else if (!active) {
      void this.close();
    }
  }

  /** Looks at the outbox now (or right after the look under way). */
  owed(): void {
    if (this.#sender === null) return;
    if (this.#looking !== null) {
      this.#again = true;
      return;
    }
    this.#looking = this.#look().finally(() => {
      this.#looking = null;
      if (this.#again) {
        this.#again = false;
        this.owed();
      }
    });
  }

  /** Stops delivering: attempts under way are cut; their rows stay owed, for whichever collector assembles next. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    const sender = this.#sender;
    this.#sender = null;
    await this.#looking;
    await sender?.close();
    this.#inFlight.clear();
  }

  async #look(): Promise<void> {
    const store = this.#options.store;
    try {
      for (const [outboxId, settled] of this.#unsettled) {
        await store.settleNotification(outboxId, settled.outcome, settled.attempts, settled.atMs);
        this.#unsettled.delete(outboxId);
      }
      const owed = await store.owedNotifications(OWED_PER_LOOK);
      for (const row of owed) if (!this.#inFlight.has(row.outboxId)) await this.#deliver(row);
      this.#lastProblem = null;
    } catch (error) {
      this.#problem(error as Error); // the next look tries again
    }
  }

  async #deliver(row: OwedNotification): Promise<void> {
    const kind = this.#kinds.get(row.receiver);
    const nowMs = this.#now();
    if (kind === undefined) {
      await this.#options.store.settleNotification(row.outboxId, 'given up: the receiver is no longer configured', 0, nowMs);
      return;
    }
    if (kind !== 'alertmanager' && row.silencedUntilMs !== null && nowMs < row.silencedUntilMs) {
      await this.#options.store.settleNotification(row.outboxId, 'silenced', 0, nowMs);
      this.#options.metrics?.alertNotification(kind, 'silenced');
      return;
    }
    if (this.#sender?.send(row.notification, { receiverId: row.receiver, outboxId: row.outboxId })) this.#inFlight.add(row.outboxId);
  }

  #settled(outcome: DeliveryOutcome): void {
    this.#options.metrics?.alertNotification(outcome.receiver.kind, outcome.delivered ? 'delivered' : 'failed');
    if (outcome.outboxId === null) return; // a resend: nothing owed
    const outboxId = outcome.outboxId;
    const settled = { outcome: outcome.delivered ? 'delivered' : `given up: ${outcome.problem}`, attempts: outcome.attempts, atMs: this.#now() };
    this.#options.store.settleNotification(outboxId, settled.outcome, settled.attempts, settled.atMs).then(
      () => this.#inFlight.delete(outboxId),
      (error: Error) => {
        // kept in flight, so the next look does not send it again, and settled then
        this.#unsettled.set(outboxId, settled);
        this.#problem(error);
      },
    );
  }

  async #resendFiring(): Promise<void> {
    const sender = this.#sender;
    if (sender === null) return;
    try {
      const firing = await this.#options.store.listAlerts('firing', 1_000);
      for (const alert of firing) {
        const notification: AlertNotification = { id: `${alert.id}:firing`, alertId: alert.id, kind: 'firing', alert };
        for (const id of this.receivers) if (this.#kinds.get(id) === 'alertmanager') sender.send(notification, { receiverId: id, outboxId: null });
      }
    } catch (error) {
      this.#problem(error as Error);
    }
  }

  #problem(error: Error): void {
    if (error.message !== this.#lastProblem) this.#options.log?.warn({ err: error }, 'alert delivery could not use the store; it will retry');
    this.#lastProblem = error.message;
  }
}
