/**
 * The live feed a collector's subscribers read (GET /api/live): it LISTENs on the live channel while
 * anyone subscribes, and hands each committed round's change (live-channel.ts) to every subscriber. A
 * listening connection that was lost and opened again may have missed changes: subscribers are told to
 * resynchronise (read the API again) rather than left with a silent gap.
 */
import { LIVE_CHANNEL, type LiveChange } from './live-channel.ts';

export type LiveMessage = { kind: 'change'; change: LiveChange } | { kind: 'resync' };
export type LiveSubscriber = (message: LiveMessage) => void;

/** How a store listens on a channel: `onPayload` for each notification, `onGap` after a reconnection; resolves to what stops it. */
export type ListenOn = (channel: string, onPayload: (payload: string) => void, onGap: () => void) => Promise<() => Promise<void>>;

export class LiveFeed {
  readonly #listen: ListenOn;
  readonly #subscribers = new Set<LiveSubscriber>();
  #stop: Promise<(() => Promise<void>) | null> | null = null;

  constructor(listen: ListenOn) {
    this.#listen = listen;
  }

  /** Hears every change from now on; resolves once listening, to what unsubscribes. */
  async subscribe(subscriber: LiveSubscriber): Promise<() => void> {
    this.#subscribers.add(subscriber);
    const listening = (this.#stop ??= this.#listen(LIVE_CHANNEL, (payload) => this.#publish(payload), () => this.#broadcast({ kind: 'resync' })));
    try {
      await listening;
    } catch (error) {
      // every subscriber waiting on this attempt leaves; the next subscriber tries again
      if (this.#stop === listening) this.#stop = null;
      this.#subscribers.delete(subscriber);
      throw error;
    }
    return () => {
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) void this.close();
    };
  }

  /** Stops listening (subscribers hear nothing more). */
  async close(): Promise<void> {
    const stopping = this.#stop;
    this.#stop = null;
    const stop = await stopping?.catch(() => null);
    await stop?.();
  }

  #publish(payload: string): void {
    let change: LiveChange;
    try {
      change = JSON.parse(payload) as LiveChange;
    } catch {
      return; // not one of ours
    }
    this.#broadcast({ kind: 'change', change });
  }

  #broadcast(message: LiveMessage): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(message);
      } catch {
        // one subscriber failing must not keep the others from hearing
      }
    }
  }
}
