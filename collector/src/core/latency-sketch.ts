/**
 * A latency distribution that forgets: DDSketch (relative-error quantiles, mergeable) kept per window of
 * time, the current window and the one before it answering together. What happened two windows ago is
 * gone, so a choreography that changed is relearned within two windows, while a quantile rests on at least
 * a whole window of samples whenever the previous window had any. Pure: the window a sample falls in is computed from the `nowMs`
 * given. Both classes turn into plain data to be stored (toJSON) and back (fromJSON).
 */
import { DDSketch } from '@datadog/sketches-js';

export interface StoredSketch {
  window: number;
  current: string;
  previous: string | null;
}

export interface StoredCount {
  window: number;
  current: number;
  previous: number;
}

/** 1 % relative error: a p99 of 800 ms reads between 792 and 808. */
const RELATIVE_ACCURACY = 0.01;

export class LatencySketch {
  #window: number;
  #current = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
  #previous: DDSketch | null = null;
  /** Quantiles answered since the last change: detection asks the same ones for many flows. */
  readonly #answers = new Map<number, number | null>();
  /** Both windows merged, while nothing changes. */
  #both: DDSketch | null = null;

  constructor(window: number) {
    this.#window = window;
  }

  /** Records one latency (negative ones, from disagreeing clocks, count as 0) in window `window`. */
  add(latencyMs: number, window: number): void {
    this.#roll(window);
    this.#current.accept(Math.max(0, latencyMs));
    this.#answers.clear();
    this.#both = null;
  }

  /** Samples in the current and previous window, as of window `window`. */
  count(window: number): number {
    this.#roll(window);
    return this.#current.count + (this.#previous?.count ?? 0);
  }

  /** The latency at quantile `q` (0–1) over the current and previous window; null without samples. */
  quantile(q: number, window: number): number | null {
    this.#roll(window);
    let answer = this.#answers.get(q);
    if (answer === undefined) {
      answer = this.#compute(q);
      this.#answers.set(q, answer);
    }
    return answer;
  }

  #compute(q: number): number | null {
    const previous = this.#previous;
    if (previous === null || previous.count === 0) return this.#current.count === 0 ? null : this.#current.getValueAtQuantile(q);
    if (this.#current.count === 0) return previous.getValueAtQuantile(q);
    if (this.#both === null) {
      // merged once per change, whatever quantiles are asked of it
      this.#both = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
      this.#both.merge(this.#current);
      this.#both.merge(previous);
    }
    return this.#both.getValueAtQuantile(q);
  }

  /** As stored: each window's sketch in DDSketch's own protobuf form, base64. */
  toJSON(): StoredSketch {
    const encode = (sketch: DDSketch) => Buffer.from(sketch.toProto()).toString('base64');
    return { window: this.#window, current: encode(this.#current), previous: this.#previous === null ? null : encode(this.#previous) };
  }

  static fromJSON(stored: StoredSketch): LatencySketch {
    const decode = (text: string) => DDSketch.fromProto(Buffer.from(text, 'base64'));
    const sketch = new LatencySketch(stored.window);
    sketch.#current = decode(stored.current);
    sketch.#previous = stored.previous === null ? null : decode(stored.previous);
    return sketch;
  }

  #roll(window: number): void {
    if (window <= this.#window) return;
    this.#previous = window === this.#window + 1 ? this.#current : null;
    this.#current = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
    this.#window = window;
    this.#answers.clear();
    this.#both = null;
  }
}

/** A count that forgets alike: the current and the previous window's. */
export class WindowedCount {
  #window: number;
  #current = 0;
  #previous = 0;

  constructor(window: number) {
    this.#window = window;
  }

  add(window: number, by = 1): void {
    this.#roll(window);
    this.#current += by;
  }

  value(window: number): number {
    this.#roll(window);
    return this.#current + this.#previous;
  }

  toJSON(): StoredCount {
    return { window: this.#window, current: this.#current, previous: this.#previous };
  }

  static fromJSON(stored: StoredCount): WindowedCount {
    const count = new WindowedCount(stored.window);
    count.#current = stored.current;
    count.#previous = stored.previous;
    return count;
  }

  #roll(window: number): void {
    if (window <= this.#window) return;
    this.#previous = window === this.#window + 1 ? this.#current : 0;
    this.#current = 0;
    this.#window = window;
  }
}
