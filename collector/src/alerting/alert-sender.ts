/**
 * Delivers alert notifications to their receivers over HTTP: each receiver has a queue and a loop of its
 * own, so one that answers 500 or never answers delays nothing but itself, and never stall detection or
 * ingest (`send` only queues). Failed attempts are retried with an exponential backoff and jitter (the
 * forwarder's policy), on 429, any 5xx and no answer, for at most `maxRetryElapsedMs`; another 4xx is the
 * receiver refusing the format, not worth retrying. Each outcome is reported to `onSettled`, so the caller
 * can record that a notification went out (once) or gave up.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertNotification } from '../core/alerts.ts';
import { parseRetryAfterMs, retryDelayMs } from '../forwarding/retry-policy.ts';
import { alertmanagerAlerts, slackMessage, webhookBody, type ReceiverKind } from './formats.ts';

export interface Receiver {
  kind: ReceiverKind;
  url: string;
}

/**
 * A receiver's name in the store's outbox: a digest of its kind and address, since a Slack or webhook
 * URL is itself a secret and the store is read by more people than the collector's configuration.
 */
export function receiverId(receiver: Receiver): string {
  return `${receiver.kind}:${createHash('sha256').update(`${receiver.kind} ${receiver.url}`).digest('hex').slice(0, 16)}`;
}

/** Who a notification goes to: one receiver, and the outbox row to settle (null: not from the outbox). */
export interface Addressee {
  receiverId: string;
  outboxId: string | null;
}

export interface AlertSenderOptions {
  receivers: readonly Receiver[];
  /** The dashboard's address, for links in notifications; null: none. */
  publicUrl?: string | null;
  /** One attempt's limit. Default 10_000. */
  requestTimeoutMs?: number;
  /** Backoff before the first retry, doubled each time up to maxBackoffMs. Defaults 1_000 and 60_000. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A notification is given up after retrying this long. Default 3_600_000 (an hour). */
  maxRetryElapsedMs?: number;
  /**
   * Notifications waiting per receiver, at most; past it the oldest waiting one (never the one being
   * delivered) is given up. Default 10_000.
   */
  maxQueued?: number;
  onSettled?: (outcome: DeliveryOutcome) => void;
}

export interface DeliveryOutcome {
  receiver: Receiver;
  /** One notification; several for a re-send of the firing alerts to Alertmanager. */
  notifications: AlertNotification[];
  /** The outbox row it came from; null when it was sent to every receiver or re-sent. */
  outboxId: string | null;
  delivered: boolean;
  attempts: number;
  /** Why it was given up (the last answer or error); null when delivered. */
  problem: string | null;
}

/** One receiver's notifications, in order, and its delivery loop. */
interface ReceiverQueue {
  receiver: Receiver;
  id: string;
  items: QueuedNotification[];
  /** Wakes the loop waiting for a notification. */
  wake: (() => void) | null;
  running: Promise<void>;
}

interface QueuedNotification {
  notifications: AlertNotification[];
  outboxId: string | null;
  /** A re-send of what fires, not owed to anyone: replaced by the next one while it waits. */
  resend: boolean;
}

type Attempt = { kind: 'sent' } | { kind: 'refused' | 'retry'; problem: string; retryAfterMs: number | null };

export class AlertSender {
  readonly #options: AlertSenderOptions;
  readonly #queues: ReceiverQueue[];
  readonly #stop = new AbortController();

  constructor(options: AlertSenderOptions) {
    this.#options = options;
    this.#queues = options.receivers.map((receiver) => {
      const queue: ReceiverQueue = { receiver, id: receiverId(receiver), items: [], wake: null, running: Promise.resolve() };
      queue.running = this.#loop(queue);
      return queue;
    });
  }

  /** The receivers' names (receiverId) and kinds, in the order given. */
  get receivers(): { id: string; kind: ReceiverKind }[] {
    return this.#queues.map((queue) => ({ id: queue.id, kind: queue.receiver.kind }));
  }

  /** Queues the notification for one receiver, or for every one; returns at once. False when no receiver has that name. */
  send(notification: AlertNotification, to: Addressee | null = null): boolean {
    const queues = to === null ? this.#queues : this.#queues.filter((queue) => queue.id === to.receiverId);
    for (const queue of queues) this.#enqueue(queue, { notifications: [notification], outboxId: to?.outboxId ?? null, resend: false });
    return queues.length > 0;
  }

  /**
   * Queues the alerts that fire, again, as one request (Alertmanager takes a list): a re-send still
   * waiting is replaced, so a receiver that is down holds one, not one a minute. False when no receiver
   * has that name.
   */
  resend(receiverId: string, notifications: AlertNotification[]): boolean {
    const queue = this.#queues.find((candidate) => candidate.id === receiverId);
    if (queue === undefined) return false;
    if (notifications.length === 0) return true;
    // the head may be under way: only a re-send behind it is replaced
    const waiting = queue.items.findIndex((item, i) => i > 0 && item.resend);
    if (waiting > 0) queue.items[waiting] = { notifications, outboxId: null, resend: true };
    else this.#enqueue(queue, { notifications, outboxId: null, resend: true });
    return true;
  }

  #enqueue(queue: ReceiverQueue, item: QueuedNotification): void {
    if (queue.items.length >= Math.max(2, this.#options.maxQueued ?? 10_000)) {
      // the head is being delivered: the oldest behind it goes
      const [dropped] = queue.items.splice(1, 1);
      this.#settled({ receiver: queue.receiver, notifications: dropped!.notifications, outboxId: dropped!.outboxId, delivered: false, attempts: 0, problem: 'the queue was full' });
    }
    queue.items.push(item);
    queue.wake?.();
  }

  /** Stops: attempts under way are cut, what is queued stays undelivered (the caller still holds it). */
  async close(): Promise<void> {
    this.#stop.abort();
    for (const queue of this.#queues) queue.wake?.();
    await Promise.all(this.#queues.map((queue) => queue.running));
  }

  async #loop(queue: ReceiverQueue): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const item = queue.items[0];
      if (item === undefined) {
        await new Promise<void>((resolve) => (queue.wake = resolve));
        queue.wake = null;
        continue;
      }
      const outcome = await this.#deliver(queue.receiver, item);
      if (outcome === null) return; // stopped
      queue.items.shift();
      this.#settled(outcome);
    }
  }

  async #deliver(receiver: Receiver, item: QueuedNotification): Promise<DeliveryOutcome | null> {
    const signal = this.#stop.signal;
    const firstAt = Date.now();
    const { notifications, outboxId } = item;
    const body = JSON.stringify(this.#body(receiver.kind, notifications));
    // a re-send is meant to be taken again: it carries no idempotency key
    const key = item.resend ? null : notifications[0]!.id;
    for (let attempts = 1; ; attempts += 1) {
      const attempt = await this.#attempt(receiver.url, body, key);
      if (signal.aborted) return null;
      if (attempt.kind === 'sent') return { receiver, notifications, outboxId, delivered: true, attempts, problem: null };
      if (attempt.kind === 'refused') return { receiver, notifications, outboxId, delivered: false, attempts, problem: attempt.problem };
      const backoff = { initialBackoffMs: this.#options.initialBackoffMs ?? 1_000, maxBackoffMs: this.#options.maxBackoffMs ?? 60_000 };
      const delayMs = retryDelayMs(attempts, attempt.retryAfterMs, backoff, Math.random());
      if (Date.now() + delayMs - firstAt > (this.#options.maxRetryElapsedMs ?? 3_600_000)) {
        return { receiver, notifications, outboxId, delivered: false, attempts, problem: attempt.problem };
      }
      await sleep(delayMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) return null;
    }
  }

  /** Only Alertmanager takes several in one request; the others are sent one at a time. */
  #body(kind: ReceiverKind, notifications: AlertNotification[]): unknown {
    const publicUrl = this.#options.publicUrl ?? null;
    if (kind === 'alertmanager') return notifications.flatMap((notification) => alertmanagerAlerts(notification, publicUrl));
    if (kind === 'slack') return slackMessage(notifications[0]!, publicUrl);
    return webhookBody(notifications[0]!, publicUrl);
  }

  async #attempt(url: string, body: string, idempotencyKey: string | null): Promise<Attempt> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        // the same key on every attempt and after a restart: a receiver that saw it may drop the repeat
        headers: { 'content-type': 'application/json', ...(idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey }) },
        body,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#options.requestTimeoutMs ?? 10_000)]),
      });
      await response.arrayBuffer(); // read to the end, so the connection can carry the next one
      if (response.ok) return { kind: 'sent' };
      const problem = `the receiver answered ${response.status}`;
      if (response.status !== 429 && response.status < 500) return { kind: 'refused', problem, retryAfterMs: null };
      return { kind: 'retry', problem, retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after'), Date.now()) };
    } catch (error) {
      return { kind: 'retry', problem: `no answer: ${(error as Error).message}`, retryAfterMs: null };
    }
  }

  #settled(outcome: DeliveryOutcome): void {
    try {
      this.#options.onSettled?.(outcome);
    } catch {
      // the caller's bookkeeping failing must not stop delivery to this receiver
    }
  }
}
