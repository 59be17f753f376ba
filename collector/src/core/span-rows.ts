/**
 * The spans the assembler holds, as rows of typed columns rather than one object each: a span's ids as
 * six 32-bit words, its times as doubles, its names (service, host, topic, group, event type) as numbers
 * into a shared table, its parent and link as the rows of those spans. An open flow of six spans then
 * costs under a kilobyte instead of four (bench/flows.bench.ts measures it), which is what lets a
 * collector hold a day's open orders. A span is made an object again (`spanOf`) only to be described or
 * reported.
 *
 * A row is one of:
 * - arrived: a span, its facts filled in, found by its ids;
 * - awaited: a span named (as parent or link) that has not arrived: only its ids, found by them;
 * - retired: a span gone from the working set that rows still held name as their parent or link (a
 *   batch span forgotten under its per-message spans): only its ids, found by nothing, freed with the
 *   last row naming it.
 */
import { Buffer } from 'node:buffer';
import type { FlowId, SpanRole } from './flow.ts';
import type { FlowSpan } from './flow-span.ts';
import { Names, NO_NAME } from './names.ts';
import { mixWords, RowIndex } from './row-index.ts';
import type { BusinessKey } from './span.ts';

export const NO_ROW = -1;

const FREE = 0;
const AWAITED = 1;
const ARRIVED = 2;
const RETIRED = 3;

const ROLES: readonly SpanRole[] = ['producer', 'consumer', 'batch', 'internal'];
const WORDS = 6; // a trace id's four 32-bit words, then a span id's two
const TRACE_DIGITS = 32;
const SPAN_DIGITS = 16;
/** Rows are held in chunks of this many (16,384: about 1.6 MB of columns a chunk). */
const CHUNK_BITS = 14;
const CHUNK_ROWS = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_ROWS - 1;

/** A Kafka message as a row holds it: a partition and offset that fit in numbers, the topic being the row's destination. */
interface MessageParts {
  topic: string;
  partition: number;
  offset: number;
}

/** `orders/0/42` read back into its parts, or null when a part does not fit a column (held as text instead). */
function messageParts(message: string): MessageParts | null {
  const offsetAt = message.lastIndexOf('/');
  const partitionAt = message.lastIndexOf('/', offsetAt - 1);
  if (partitionAt <= 0) return null;
  const partitionText = message.slice(partitionAt + 1, offsetAt);
  const offsetText = message.slice(offsetAt + 1);
  const partition = Number(partitionText);
  const offset = Number(offsetText);
  // only the canonical digits (toFlowSpan's) are columns, so the text made back from them is the same
  if (!Number.isSafeInteger(offset) || offset < 0 || String(offset) !== offsetText) return null;
  if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff || String(partition) !== partitionText) return null;
  return { topic: message.slice(0, partitionAt), partition, offset };
}

/** A character code's value as a lowercase hex digit, -1 for any other character. */
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit += 1) DIGIT_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit;
const DIGIT_CODE = new Uint8Array([...'0123456789abcdef'].map((digit) => digit.charCodeAt(0)));
const ERROR_BIT = 4; // beside the role's index (0 to 3) in one byte
const NAME_COLUMNS = ['serviceName', 'host', 'destination', 'consumerGroup', 'eventType', 'contextStatus'] as const;
const [SERVICE, HOST, DESTINATION, GROUP, EVENT_TYPE, CONTEXT_STATUS] = [0, 1, 2, 3, 4, 5] as const;
const MAX_SMALL_ATTEMPT = 0xffff;

export class SpanRows {
  readonly names = new Names();
  #capacity = 0;
  /** Rows ever used: the next new row. */
  #end = 0;
  readonly #free: number[] = [];
  #awaited = 0;

  #ids: Uint32Array[] = [];
  #state: Uint8Array[] = [];
  /** The role's index in ROLES, plus ERROR_BIT for a span that failed. */
  #roleAndError: Uint8Array[] = [];
  /** The row of the span's parent, or of its one link; NO_ROW for none (the span's own row when it names itself). */
  #parent: Int32Array[] = [];
  #link: Int32Array[] = [];
  /** How many held rows name this one as parent or link (themselves not counted). */
  #namedBy: Int32Array[] = [];
  #start: Float64Array[] = [];
  #endMs: Float64Array[] = [];
  /** 0 when the span gives none. */
  /** 0 when the span gives none; one past what fits is held in #largeAttempts. */
  #attempt: Uint16Array[] = [];
  readonly #largeAttempts = new Map<number, number>();
  /**
   * The names' numbers (NAME_COLUMNS), 16 bits each until a number past that is given out: then all six
   * columns are widened to 32 bits.
   */
  #names: (Uint16Array | Uint32Array)[][] = NAME_COLUMNS.map(() => []);
  /** The message's partition (-1: no message in the columns) and offset; its topic is the destination. */
  #partition: Int32Array[] = [];
  #offset: Float64Array[] = [];
  /** The flow (a FlowSlots slot) the span is in; NO_ROW for none (awaited, or a batch span). */
  #flow: Int32Array[] = [];
  /** The next span of the same flow. */
  #next: Int32Array[] = [];
  /** Strings shared with the key table and with the flow: the same object for every span carrying them. */
  #businessKey: (BusinessKey | null)[][] = [];
  #savedFlowId: (FlowId | null)[][] = [];
  /** What does not fit the columns, for the few spans that have it. */
  readonly #unusualMessage = new Map<number, string>();
  readonly #otherLinks = new Map<number, string[]>();

  readonly #byIds = new RowIndex((row) => mixWords(this.#ids[row >>> CHUNK_BITS]!, (row & CHUNK_MASK) * WORDS, WORDS));
  readonly #byMessage = new RowIndex((row) => this.#messageHash(row));
  readonly #byUnusualMessage = new Map<string, number>();
  /** The ids being looked up, parsed once. */
  readonly #probe = new Uint32Array(WORDS);
  readonly #messageWords = new Uint32Array(4);
  readonly #textBuffer = Buffer.alloc(TRACE_DIGITS + 1 + SPAN_DIGITS);
  readonly #probeMessage = { topic: NO_NAME, partition: 0, offset: 0 };
  /** The last message read into parts: a span's message is read to look it up, then again to be held. */
  #lastMessage: string | null = null;
  #lastMessageParts: MessageParts | null = null;
  readonly #holdsProbe = (row: number): boolean => {
    const ids = this.#ids[row >>> CHUNK_BITS]!;
    const at = (row & CHUNK_MASK) * WORDS;
    const probe = this.#probe;
    return ids[at] === probe[0] && ids[at + 1] === probe[1] && ids[at + 2] === probe[2] && ids[at + 3] === probe[3]
      && ids[at + 4] === probe[4] && ids[at + 5] === probe[5];
  };
  readonly #holdsProbeMessage = (row: number): boolean => {
    const probe = this.#probeMessage;
    return this.#names[DESTINATION]![row >>> CHUNK_BITS]![row & CHUNK_MASK] === probe.topic && this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK] === probe.partition && this.#offset[row >>> CHUNK_BITS]![row & CHUNK_MASK] === probe.offset;
  };

  // ---- finding rows --------------------------------------------------------------------------------

  /** The arrived or awaited row of a span key (`traceId/spanId`) or flow id (`traceId-spanId`); NO_ROW when none. */
  find(key: string): number {
    if (!this.#parse(key)) return NO_ROW;
    return this.#byIds.find(mixWords(this.#probe, 0, WORDS), this.#holdsProbe);
  }

  /** The row of a span key, made an awaited row when it has none; NO_ROW when the key is not a span key. */
  point(key: string): number {
    if (!this.#parse(key)) return NO_ROW;
    const hash = mixWords(this.#probe, 0, WORDS);
    const found = this.#byIds.find(hash, this.#holdsProbe);
    if (found !== NO_ROW) return found;
    const row = this.#newRow();
    this.#ids[row >>> CHUNK_BITS]!.set(this.#probe, (row & CHUNK_MASK) * WORDS);
    this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] = AWAITED;
    this.#awaited += 1;
    this.#byIds.insert(hash, row);
    return row;
  }

  /** The row carrying a Kafka message first (see `indexMessage`); NO_ROW when none. */
  findMessage(message: string): number {
    const parts = this.#messageParts(message);
    if (parts === null) return this.#byUnusualMessage.get(message) ?? NO_ROW;
    const topic = this.names.find(parts.topic);
    if (topic === NO_NAME) return this.#byUnusualMessage.get(message) ?? NO_ROW;
    const probe = this.#probeMessage;
    probe.topic = topic;
    probe.partition = parts.partition;
    probe.offset = parts.offset;
    const found = this.#byMessage.find(this.#messageHash(-1), this.#holdsProbeMessage);
    return found !== NO_ROW ? found : this.#byUnusualMessage.get(message) ?? NO_ROW;
  }

  /** Files the (arrived) row as the one its message is found by. */
  indexMessage(row: number): void {
    if (this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK]! >= 0) this.#byMessage.insert(this.#messageHash(row), row);
    else {
      const message = this.#unusualMessage.get(row);
      if (message !== undefined) this.#byUnusualMessage.set(message, row);
    }
  }

  unindexMessage(row: number): void {
    if (this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK]! >= 0) this.#byMessage.remove(this.#messageHash(row), row);
    else {
      const message = this.#unusualMessage.get(row);
      if (message !== undefined && this.#byUnusualMessage.get(message) === row) this.#byUnusualMessage.delete(message);
    }
  }

  // ---- a row's life --------------------------------------------------------------------------------

  /**
   * Fills an awaited row with its span's facts. `parent` and `link`: the rows of the spans it names
   * (its own row when it names itself); `businessKey`: the key as the key table holds it.
   */
  arrive(row: number, span: FlowSpan, parent: number, link: number, businessKey: BusinessKey | null, savedFlowId: FlowId | null): void {
    this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] = ARRIVED;
    this.#awaited -= 1;
    this.#roleAndError[row >>> CHUNK_BITS]![row & CHUNK_MASK] = ROLES.indexOf(span.role) | (span.error ? ERROR_BIT : 0);
    this.#parent[row >>> CHUNK_BITS]![row & CHUNK_MASK] = parent;
    this.#link[row >>> CHUNK_BITS]![row & CHUNK_MASK] = link;
    if (parent !== NO_ROW && parent !== row) this.#namedBy[parent >>> CHUNK_BITS]![parent & CHUNK_MASK]! += 1;
    if (link !== NO_ROW && link !== row) this.#namedBy[link >>> CHUNK_BITS]![link & CHUNK_MASK]! += 1;
    if (link === NO_ROW && span.links.length > 0 && span.role !== 'batch') this.#otherLinks.set(row, span.links);
    this.#start[row >>> CHUNK_BITS]![row & CHUNK_MASK] = span.startMs;
    this.#endMs[row >>> CHUNK_BITS]![row & CHUNK_MASK] = span.endMs;
    const attempt = span.attempt ?? 0;
    this.#attempt[row >>> CHUNK_BITS]![row & CHUNK_MASK] = Math.min(attempt, MAX_SMALL_ATTEMPT);
    if (attempt >= MAX_SMALL_ATTEMPT) this.#largeAttempts.set(row, attempt);
    for (let column = 0; column < NAME_COLUMNS.length; column += 1) {
      const id = this.names.take(span[NAME_COLUMNS[column]!]);
      if (id > 0xffff && this.#names[0]![0] instanceof Uint16Array) this.#names = this.#names.map((chunks) => chunks.map((names) => Uint32Array.from(names)));
      this.#names[column]![row >>> CHUNK_BITS]![row & CHUNK_MASK] = id;
    }
    this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK] = -1;
    if (span.message !== null) {
      const parts = this.#messageParts(span.message);
      if (parts !== null && parts.topic === span.destination) {
        this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK] = parts.partition;
        this.#offset[row >>> CHUNK_BITS]![row & CHUNK_MASK] = parts.offset;
      } else this.#unusualMessage.set(row, span.message);
    }
    this.#businessKey[row >>> CHUNK_BITS]![row & CHUNK_MASK] = businessKey;
    this.#savedFlowId[row >>> CHUNK_BITS]![row & CHUNK_MASK] = savedFlowId;
  }

  /**
   * A held span leaves the working set: its row is freed, or, while held rows still name it, kept
   * (found by nothing) for their sake. The rows it named are freed when nothing else needs them.
   */
  retire(row: number): void {
    const parent = this.#parent[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
    const link = this.#link[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
    this.#releaseFacts(row);
    if (this.#namedBy[row >>> CHUNK_BITS]![row & CHUNK_MASK]! > 0) {
      this.#byIds.remove(this.#idsHash(row), row);
      this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] = RETIRED;
    } else this.#freeRow(row);
    for (const target of [parent, link]) {
      if (target === NO_ROW || target === row) continue;
      this.#namedBy[target >>> CHUNK_BITS]![target & CHUNK_MASK]! -= 1;
      // an awaited span named by nothing held, or a retired one, is of no more use
      if (this.#namedBy[target >>> CHUNK_BITS]![target & CHUNK_MASK] === 0 && this.#state[target >>> CHUNK_BITS]![target & CHUNK_MASK] !== ARRIVED) this.#freeRow(target);
    }
  }

  clear(): void {
    this.names.clear();
    this.#end = 0;
    this.#free.length = 0;
    this.#awaited = 0;
    this.#capacity = 0;
    for (const column of this.#columns()) column.length = 0;
    this.#names = NAME_COLUMNS.map(() => []);
    this.#largeAttempts.clear();
    this.#businessKey.length = 0;
    this.#savedFlowId.length = 0;
    this.#unusualMessage.clear();
    this.#otherLinks.clear();
    this.#byIds.clear();
    this.#byMessage.clear();
    this.#byUnusualMessage.clear();
  }

  // ---- reading a row -------------------------------------------------------------------------------

  isArrived(row: number): boolean {
    return this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] === ARRIVED;
  }

  isAwaited(row: number): boolean {
    return this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] === AWAITED;
  }

  isBatch(row: number): boolean {
    return this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] === ARRIVED && ROLES[this.#roleAndError[row >>> CHUNK_BITS]![row & CHUNK_MASK]! & 3] === 'batch';
  }

  /** Rows in use, of every kind. */
  get size(): number {
    return this.#end - this.#free.length;
  }

  get awaitedCount(): number {
    return this.#awaited;
  }

  flow(row: number): number {
    return this.#flow[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
  }

  setFlow(row: number, flow: number): void {
    this.#flow[row >>> CHUNK_BITS]![row & CHUNK_MASK] = flow;
  }

  next(row: number): number {
    return this.#next[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
  }

  setNext(row: number, next: number): void {
    this.#next[row >>> CHUNK_BITS]![row & CHUNK_MASK] = next;
  }

  parent(row: number): number {
    return this.#parent[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
  }

  link(row: number): number {
    return this.#link[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
  }

  startMs(row: number): number {
    return this.#start[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
  }

  businessKey(row: number): BusinessKey | null {
    return this.#businessKey[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
  }

  savedFlowId(row: number): FlowId | null {
    return this.#savedFlowId[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
  }

  setSavedFlowId(row: number, flowId: FlowId | null): void {
    this.#savedFlowId[row >>> CHUNK_BITS]![row & CHUNK_MASK] = flowId;
  }

  /** Whether the row carries a Kafka message. */
  hasMessage(row: number): boolean {
    return this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK]! >= 0 || this.#unusualMessage.has(row);
  }

  message(row: number): string | null {
    const partition = this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
    if (partition < 0) return this.#unusualMessage.get(row) ?? null;
    return `${this.names.text(this.#names[DESTINATION]![row >>> CHUNK_BITS]![row & CHUNK_MASK]!)}/${partition}/${this.#offset[row >>> CHUNK_BITS]![row & CHUNK_MASK]}`;
  }

  traceId(row: number): string {
    return this.#text(row, 0, 4, 0);
  }

  spanId(row: number): string {
    return this.#text(row, 4, 6, 0);
  }

  /** `traceId/spanId`. */
  key(row: number): string {
    return this.#text(row, 0, 6, 0x2f);
  }

  /** The id of the flow this row would anchor: `traceId-spanId`. */
  flowId(row: number): FlowId {
    return this.#text(row, 0, 6, 0x2d);
  }

  /** The anchor order: start time, then trace id, then span id (the order of their hex digits). */
  anchorsBefore(a: number, b: number): boolean {
    const startA = this.#start[a >>> CHUNK_BITS]![a & CHUNK_MASK]!;
    const startB = this.#start[b >>> CHUNK_BITS]![b & CHUNK_MASK]!;
    if (startA !== startB) return startA < startB;
    const idsA = this.#ids[a >>> CHUNK_BITS]!;
    const idsB = this.#ids[b >>> CHUNK_BITS]!;
    for (let i = 0; i < WORDS; i += 1) {
      const x = idsA[(a & CHUNK_MASK) * WORDS + i]!;
      const y = idsB[(b & CHUNK_MASK) * WORDS + i]!;
      if (x !== y) return x < y;
    }
    return false;
  }

  /** The row's span as an object again, for describing and reporting. */
  spanOf(row: number): FlowSpan {
    const key = this.key(row);
    const traceId = key.slice(0, TRACE_DIGITS);
    const spanId = key.slice(TRACE_DIGITS + 1);
    const parent = this.#parent[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
    const link = this.#link[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
    const attempt = this.#attempt[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
    return {
      key,
      traceId,
      spanId,
      parentKey: parent === NO_ROW ? null : parent === row ? key : this.key(parent),
      role: ROLES[this.#roleAndError[row >>> CHUNK_BITS]![row & CHUNK_MASK]! & 3]!,
      serviceName: this.#name(SERVICE, row)!,
      host: this.#name(HOST, row)!,
      startMs: this.#start[row >>> CHUNK_BITS]![row & CHUNK_MASK]!,
      endMs: this.#endMs[row >>> CHUNK_BITS]![row & CHUNK_MASK]!,
      error: (this.#roleAndError[row >>> CHUNK_BITS]![row & CHUNK_MASK]! & ERROR_BIT) !== 0,
      destination: this.#name(DESTINATION, row),
      message: this.message(row),
      consumerGroup: this.#name(GROUP, row),
      eventType: this.#name(EVENT_TYPE, row),
      businessKey: this.#businessKey[row >>> CHUNK_BITS]![row & CHUNK_MASK]!,
      attempt: attempt === 0 ? null : attempt === MAX_SMALL_ATTEMPT ? this.#largeAttempts.get(row)! : attempt,
      contextStatus: this.#name(CONTEXT_STATUS, row),
      links: link === NO_ROW ? this.#otherLinks.get(row) ?? [] : [link === row ? key : this.key(link)],
    };
  }

  // ---- storage -------------------------------------------------------------------------------------

  #messageParts(message: string): MessageParts | null {
    if (message !== this.#lastMessage) {
      this.#lastMessage = message;
      this.#lastMessageParts = messageParts(message);
    }
    return this.#lastMessageParts;
  }

  /** Reads `traceId/spanId` or `traceId-spanId` into the probe; false when it is neither. */
  #parse(key: string): boolean {
    if (key.length !== TRACE_DIGITS + 1 + SPAN_DIGITS) return false;
    const probe = this.#probe;
    let at = 0;
    for (let word = 0; word < WORDS; word += 1) {
      if (at === TRACE_DIGITS) at += 1; // the separator
      let value = 0;
      for (const end = at + 8; at < end; at += 1) {
        const code = key.charCodeAt(at);
        const digit = code < 128 ? DIGIT_VALUE[code]! : -1;
        if (digit < 0) return false;
        value = (value << 4) | digit;
      }
      probe[word] = value;
    }
    return true;
  }

  /**
   * Words `from` to `to` of a row's ids as hex digits, with `separator` (a character code, 0: none)
   * between trace and span id. Written into one buffer and read out at once, so the string is flat: made
   * of pieces it would keep every piece alive (a flow id held for each open flow cost five times more).
   */
  #text(row: number, from: number, to: number, separator: number): string {
    const out = this.#textBuffer;
    const ids = this.#ids[row >>> CHUNK_BITS]!;
    const first = (row & CHUNK_MASK) * WORDS;
    let at = 0;
    for (let word = from; word < to; word += 1) {
      if (word === 4 && separator !== 0 && from === 0) out[at++] = separator;
      const value = ids[first + word]!;
      for (let shift = 28; shift >= 0; shift -= 4) out[at++] = DIGIT_CODE[(value >>> shift) & 15]!;
    }
    return out.toString('latin1', 0, at);
  }

  /** The hash of a row's message, or of the probe's (row -1). */
  #messageHash(row: number): number {
    const words = this.#messageWords;
    if (row === -1) {
      const probe = this.#probeMessage;
      words[0] = probe.topic;
      words[1] = probe.partition;
      words[2] = probe.offset % 2 ** 32;
      words[3] = probe.offset / 2 ** 32;
    } else {
      words[0] = this.#names[DESTINATION]![row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
      words[1] = this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK]!;
      words[2] = this.#offset[row >>> CHUNK_BITS]![row & CHUNK_MASK]! % 2 ** 32;
      words[3] = this.#offset[row >>> CHUNK_BITS]![row & CHUNK_MASK]! / 2 ** 32;
    }
    return mixWords(words, 0, 4);
  }

  #releaseFacts(row: number): void {
    if (this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] !== ARRIVED) return;
    const names = this.names;
    for (const column of this.#names) {
      const chunk = column[row >>> CHUNK_BITS]!;
      names.release(chunk[row & CHUNK_MASK]!);
      chunk[row & CHUNK_MASK] = NO_NAME;
    }
    this.#largeAttempts.delete(row);
    this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK] = -1;
    this.#unusualMessage.delete(row);
    this.#otherLinks.delete(row);
    this.#businessKey[row >>> CHUNK_BITS]![row & CHUNK_MASK] = null;
    this.#savedFlowId[row >>> CHUNK_BITS]![row & CHUNK_MASK] = null;
    this.#parent[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
    this.#link[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
    this.#flow[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
    this.#next[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
  }

  #freeRow(row: number): void {
    if (this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] === AWAITED) this.#awaited -= 1;
    if (this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] !== RETIRED) this.#byIds.remove(this.#idsHash(row), row);
    this.#state[row >>> CHUNK_BITS]![row & CHUNK_MASK] = FREE;
    this.#namedBy[row >>> CHUNK_BITS]![row & CHUNK_MASK] = 0;
    this.#free.push(row);
  }

  #newRow(): number {
    let row = this.#free.pop();
    if (row === undefined) {
      row = this.#end;
      this.#end += 1;
      if (row >= this.#capacity) this.#addChunk();
    }
    this.#parent[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
    this.#link[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
    this.#flow[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
    this.#next[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_ROW;
    this.#partition[row >>> CHUNK_BITS]![row & CHUNK_MASK] = -1;
    this.#namedBy[row >>> CHUNK_BITS]![row & CHUNK_MASK] = 0;
    this.#businessKey[row >>> CHUNK_BITS]![row & CHUNK_MASK] = null;
    this.#savedFlowId[row >>> CHUNK_BITS]![row & CHUNK_MASK] = null;
    for (const column of this.#names) column[row >>> CHUNK_BITS]![row & CHUNK_MASK] = NO_NAME;
    return row;
  }

  #name(column: number, row: number): string | null {
    return this.names.text(this.#names[column]![row >>> CHUNK_BITS]![row & CHUNK_MASK]!);
  }

  #idsHash(row: number): number {
    return mixWords(this.#ids[row >>> CHUNK_BITS]!, (row & CHUNK_MASK) * WORDS, WORDS);
  }

  /** Every column's chunks but the names'. */
  #columns(): (Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array)[][] {
    return [this.#ids, this.#state, this.#roleAndError, this.#parent, this.#link, this.#namedBy, this.#start, this.#endMs, this.#attempt,
      this.#partition, this.#offset, this.#flow, this.#next];
  }

  /**
   * Room for CHUNK_ROWS more rows: a chunk more of every column. Columns grow by chunks rather than by
   * copying into larger arrays, which would leave up to half of them unused and, allocating several
   * times what is held, make the garbage collector run again and again while the working set grows.
   */
  #addChunk(): void {
    this.#ids.push(new Uint32Array(CHUNK_ROWS * WORDS));
    this.#state.push(new Uint8Array(CHUNK_ROWS));
    this.#roleAndError.push(new Uint8Array(CHUNK_ROWS));
    this.#parent.push(new Int32Array(CHUNK_ROWS));
    this.#link.push(new Int32Array(CHUNK_ROWS));
    this.#namedBy.push(new Int32Array(CHUNK_ROWS));
    this.#start.push(new Float64Array(CHUNK_ROWS));
    this.#endMs.push(new Float64Array(CHUNK_ROWS));
    this.#attempt.push(new Uint16Array(CHUNK_ROWS));
    const wide = this.#names[0]!.length > 0 && this.#names[0]![0] instanceof Uint32Array;
    for (const column of this.#names) column.push(wide ? new Uint32Array(CHUNK_ROWS) : new Uint16Array(CHUNK_ROWS));
    this.#partition.push(new Int32Array(CHUNK_ROWS));
    this.#offset.push(new Float64Array(CHUNK_ROWS));
    this.#flow.push(new Int32Array(CHUNK_ROWS));
    this.#next.push(new Int32Array(CHUNK_ROWS));
    // sized once, as typed arrays are: an array grown by pushing keeps up to half again unused
    this.#businessKey.push(new Array<BusinessKey | null>(CHUNK_ROWS).fill(null));
    this.#savedFlowId.push(new Array<FlowId | null>(CHUNK_ROWS).fill(null));
    this.#capacity += CHUNK_ROWS;
  }
}
