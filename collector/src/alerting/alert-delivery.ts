/**
 * Delivers the notifications the flow worker's rounds stored in the outbox (store/alert-store.ts), while
 * this collector assembles: each row goes to its receiver once, and is settled in the store (delivered,
 * given up, or held back by the alert's silence) as soon as its outcome is known. A notification stored
 * and not yet settled when the collector dies is delivered after the restart; one delivered but not yet
 * settled (the moment between the receiver's answer and the store's update) may be delivered twice, and
 * carries the same id both times (the webhook's `id`, the `Idempotency-Key` header) for receivers that
 * deduplicate.
 *
 * Each receiver reads its own owed rows, as many as its queue has room for and leaving out those its
 * sender holds, so a receiver that is down owes alone: the others go on.
 *
 * A silence holds webhook and Slack notifications back until it ends, as Alertmanager does: then what is
 * still owed goes out, unless the episode began and ended within the silence (its firing notification
 * was never sent), when neither its firing nor its resolved notification is worth a message; both are
 * settled `silenced`. Alertmanager applies silences of its own, so it is told the truth whatever
 * Choreoscope's silence says. It resolves an alert it has not heard of for its resolve_timeout (5 minutes
 * by default), so the firing alerts are sent to it again, as one request, every `resendEveryMs`.
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

/** Outbox rows read per receiver and look, at most. */
const OWED_PER_LOOK = 500;
/** Firing alerts re-sent to Alertmanager, at most (the latest to start). */
const RESEND_AT_MOST = 1_000;

/** What to do with an owed notification once its silence, if any, has ended. */
export type SilenceVerdict = 'send' | 'silenced';

/**
 * A notification read after its alert's silence ended (or never silenced) is sent, except an episode that
 * began and ended within the silence: its firing notification never went out, so neither goes. A
 * resolved one whose firing notification was settled silenced goes neither; `silencedNow` names the
 * episodes settled so in the same look, whose rows were read before that.
 */
export function silenceVerdict(row: OwedNotification, holdsSilences: boolean, silencedNow: ReadonlySet<string>): SilenceVerdict {
  if (!holdsSilences || row.silencedUntilMs === null) return 'send';
  const endedWithin = row.alertState === 'resolved' && row.alertEndsAtMs !== null && row.alertEndsAtMs <= row.silencedUntilMs;
  if (!endedWithin) return 'send';
  if (row.notification.kind === 'firing') return 'silenced';
  return row.firingOutcome === 'silenced' || silencedNow.has(episodeOf(row)) ? 'silenced' : 'send';
}

const episodeOf = (row: OwedNotification) => `${row.notification.alertId} ${row.receiver}`;

/** One stretch of assembling: its sender, and the outbox rows that sender holds, by receiver. */
interface Session {
  sender: AlertSender;
  /** Outbox rows handed to the sender and not yet settled in the store, by receiver. */
  holding: Map<string, Set<string>>;
  timers: NodeJS.Timeout[];
  /** Whether the rows owed to receivers no longer configured were given up yet (once a session). */
  abandoned: boolean;
}

export class AlertDelivery implements AlertNotifier {
  readonly receivers: readonly string[];
  readonly #options: AlertDeliveryOptions;
  readonly #now: () => number;
  readonly #kinds: ReadonlyMap<string, Receiver['kind']>;
  #session: Session | null = null;
  /** Outcomes the store has not taken yet (it was unavailable): written again at the next look. */
  readonly #unsettled = new Map<string, { outcome: string; attempts: number; atMs: number; release: () => void }>();
  #looking: Promise<void> | null = null;
  #again = false;
  #lastProblem: string | null = null;

  constructor(options: AlertDeliveryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.receivers = options.receivers.map(receiverId);
    this.#kinds = new Map(options.receivers.map((receiver) => [receiverId(receiver), receiver.kind]));
  }

  assembling(active: boolean): void {
    if (active && this.#session === null && this.receivers.length > 0) {
      const holding = new Map(this.receivers.map((id) => [id, new Set<string>()]));
      // bound to this session's rows: a late outcome of a sender since closed touches nothing of the next
      const sender = new AlertSender({ ...this.#options, onSettled: (outcome) => this.#settled(outcome, holding) });
      const session: Session = { sender, holding, timers: [setInterval(() => this.owed(), this.#options.pollIntervalMs ?? 5_000)], abandoned: false };
      if (this.receivers.some((id) => this.#kinds.get(id) === 'alertmanager')) {
        session.timers.push(setInterval(() => void this.#resendFiring(session), this.#options.resendEveryMs ?? 60_000));
      }
      for (const timer of session.timers) timer.unref();
      this.#session = session;
      this.owed();
    } else if (!active) {
      void this.close();
    }
  }

  /** Looks at the outbox now (or right after the look under way). */
  owed(): void {
    if (this.#session === null) return;
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
    const session = this.#session;
    this.#session = null;
    if (session === null) return;
    for (const timer of session.timers) clearInterval(timer);
    await this.#looking;
    await session.sender.close();
  }

  async #look(): Promise<void> {
    const store = this.#options.store;
    try {
      for (const [outboxId, settled] of this.#unsettled) {
        await store.settleNotification(outboxId, settled.outcome, settled.attempts, settled.atMs);
        this.#unsettled.delete(outboxId);
        settled.release();
      }
      const session = this.#session;
      if (session !== null && !session.abandoned) {
        await store.abandonNotifications(this.receivers, 'given up: the receiver is no longer configured', this.#now());
        session.abandoned = true;
      }
      for (const id of this.receivers) await this.#lookFor(id);
      this.#lastProblem = null;
    } catch (error) {
      this.#problem(error as Error); // the next look tries again
    }
  }

  /** One receiver's due rows, as many as its queue has room for. */
  async #lookFor(receiver: string): Promise<void> {
    const session = this.#session;
    const holding = session?.holding.get(receiver);
    if (session === null || holding === undefined) return;
    const room = Math.min(OWED_PER_LOOK, (this.#options.maxQueued ?? 10_000) - holding.size);
    if (room <= 0) return;
    const kind = this.#kinds.get(receiver)!;
    const holdsSilences = kind !== 'alertmanager';
    const nowMs = this.#now();
    // rows held are named in the read itself: one settled between the read and this loop was held then, so it is not read again
    const due = await this.#options.store.owedNotifications(room, { receiver, excluding: [...holding], nowMs, holdSilenced: holdsSilences });
    const silencedNow = new Set<string>();
    for (const row of due) {
      if (this.#session !== session) return; // closed meanwhile
      if (silenceVerdict(row, holdsSilences, silencedNow) === 'silenced') {
        await this.#options.store.settleNotification(row.outboxId, 'silenced', 0, nowMs);
        if (row.notification.kind === 'firing') silencedNow.add(episodeOf(row));
        this.#options.metrics?.alertNotification(kind, 'silenced');
      } else if (session.sender.send(row.notification, { receiverId: receiver, outboxId: row.outboxId })) {
        holding.add(row.outboxId);
      }
    }
  }

  #settled(outcome: DeliveryOutcome, holding: Map<string, Set<string>>): void {
    this.#options.metrics?.alertNotification(outcome.receiver.kind, outcome.delivered ? 'delivered' : 'failed');
    if (outcome.outboxId === null) return; // a re-send: nothing owed
    const outboxId = outcome.outboxId;
    const release = () => holding.get(receiverId(outcome.receiver))?.delete(outboxId);
    const settled = { outcome: outcome.delivered ? 'delivered' : `given up: ${outcome.problem}`, attempts: outcome.attempts, atMs: this.#now(), release };
    this.#options.store.settleNotification(outboxId, settled.outcome, settled.attempts, settled.atMs).then(release, (error: Error) => {
      // still held, so no look sends it again, and settled at the next look
      this.#unsettled.set(outboxId, settled);
      this.#problem(error);
    });
  }

  async #resendFiring(session: Session): Promise<void> {
    if (this.#session !== session) return;
    try {
      const firing = await this.#options.store.listAlerts('firing', RESEND_AT_MOST);
      const notifications: AlertNotification[] = firing.map((alert) => ({ id: `${alert.id}:firing`, alertId: alert.id, kind: 'firing', alert }));
      for (const id of this.receivers) if (this.#kinds.get(id) === 'alertmanager') session.sender.resend(id, notifications);
    } catch (error) {
      this.#problem(error as Error);
    }
  }

  #problem(error: Error): void {
    if (error.message !== this.#lastProblem) this.#options.log?.warn({ err: error }, 'alert delivery could not use the store; it will retry');
    this.#lastProblem = error.message;
  }
}
