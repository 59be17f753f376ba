/**
 * An index from a key to a row number, for keys the rows themselves hold (a span's ids, a Kafka message's
 * coordinates): open addressing with linear probing over one Int32Array, so an entry costs 4 to 8 bytes
 * where a `Map` entry with a string key costs about 100 (the key string, the entry, the table). The
 * caller hashes a key and says whether a row holds it; the index never sees the keys.
 *
 * Written here rather than taken from a package: the maintained JavaScript collection libraries
 * (mnemonist and the like) key their maps by JavaScript values, which is the cost this avoids.
 */
const EMPTY = -1;
const REMOVED = -2;
const MIN_CAPACITY = 1024;

export class RowIndex {
  #slots = new Int32Array(MIN_CAPACITY).fill(EMPTY);
  /** Slots holding a row. */
  #live = 0;
  /** Slots holding a row or a removal mark: what makes probes long. */
  #used = 0;

  /** `hashOfRow`: the hash of the key a row holds, for moving rows when the table grows. */
  constructor(private readonly hashOfRow: (row: number) => number) {}

  get size(): number {
    return this.#live;
  }

  /** The row holding the key hashed to `hash`, as `holds` says; -1 when none. */
  find(hash: number, holds: (row: number) => boolean): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const row = slots[at]!;
      if (row === EMPTY) return -1;
      if (row !== REMOVED && holds(row)) return row;
    }
  }

  /** Adds a row (whose key is not in the index yet) under its key's hash. */
  insert(hash: number, row: number): void {
    if ((this.#used + 1) * 4 > this.#slots.length * 3) this.#rehash();
    const slots = this.#slots;
    const mask = slots.length - 1;
    let at = hash & mask;
    while (slots[at]! >= 0) at = (at + 1) & mask;
    if (slots[at] === EMPTY) this.#used += 1;
    slots[at] = row;
    this.#live += 1;
  }

  /** Removes a row filed under `hash`; false when it is not there. */
  remove(hash: number, row: number): boolean {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const held = slots[at]!;
      if (held === EMPTY) return false;
      if (held === row) {
        slots[at] = REMOVED;
        this.#live -= 1;
        return true;
      }
    }
  }

  clear(): void {
    this.#slots = new Int32Array(MIN_CAPACITY).fill(EMPTY);
    this.#live = 0;
    this.#used = 0;
  }

  /**
   * Grows (or, when removals fill it, only cleans) the table: to at most half full, and it fills to three
   * quarters before growing again; linear probing stays short below that.
   */
  #rehash(): void {
    let capacity = MIN_CAPACITY;
    while (capacity < (this.#live + 1) * 2) capacity *= 2;
    const old = this.#slots;
    this.#slots = new Int32Array(capacity).fill(EMPTY);
    this.#live = 0;
    this.#used = 0;
    for (const row of old) if (row >= 0) this.insert(this.hashOfRow(row), row);
  }
}

/** Mixes 32-bit words into a hash (murmur3's finaliser per word), so ids chosen to collide still spread. */
export function mixWords(words: Uint32Array, from: number, count: number, seed = 0x9e3779b9): number {
  let hash = seed;
  for (let i = from; i < from + count; i += 1) {
    let word = Math.imul(words[i]!, 0xcc9e2d51);
    word = (word << 15) | (word >>> 17);
    hash ^= Math.imul(word, 0x1b873593);
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
