/**
 * Names that repeat across spans (services, hosts, topics, consumer groups, event types), each held once
 * and referred to by a small number. A name is forgotten when no span refers to it any more, so a flood
 * of distinct names costs memory only while their spans are held.
 */
/** What a span without the name holds: 0, so a column of names starts out as all none. */
export const NO_NAME = 0;

export class Names {
  readonly #ids = new Map<string, number>();
  readonly #texts: (string | null)[] = [null];
  readonly #references: number[] = [0];
  readonly #free: number[] = [];

  /** The name's number (from 1 up, numbers freed being given out again), counting one more reference to it; NO_NAME for null. */
  take(text: string | null): number {
    if (text === null) return NO_NAME;
    let id = this.#ids.get(text);
    if (id === undefined) {
      id = this.#free.pop() ?? this.#texts.length;
      this.#texts[id] = text;
      this.#references[id] = 0;
      this.#ids.set(text, id);
    }
    this.#references[id]! += 1;
    return id;
  }

  /** One reference fewer; the name goes with its last. */
  release(id: number): void {
    if (id === NO_NAME) return;
    this.#references[id]! -= 1;
    if (this.#references[id]! > 0) return;
    this.#ids.delete(this.#texts[id]!);
    this.#texts[id] = null;
    this.#free.push(id);
  }

  text(id: number): string | null {
    return id === NO_NAME ? null : this.#texts[id]!;
  }

  /** The name's number without taking a reference; NO_NAME when it is not held. */
  find(text: string): number {
    return this.#ids.get(text) ?? NO_NAME;
  }

  get size(): number {
    return this.#ids.size;
  }

  clear(): void {
    this.#ids.clear();
    this.#texts.length = 1;
    this.#references.length = 1;
    this.#free.length = 0;
  }
}
