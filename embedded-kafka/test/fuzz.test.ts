/**
 * The broker never falls over because of what a client sends, checked beyond the hand-made malformed
 * frames (bad-input.test.ts): every request kafkajs really sends in a session (ApiVersions, Metadata,
 * Produce, Fetch, ListOffsets, the group protocol, offsets, an idempotent producer's InitProducerId) is
 * recorded, damaged at random — bits flipped, fields set to extremes, cut short or padded, its size
 * field kept true so the damage reaches the decoder — and replayed, each on a connection of its own.
 * Every one is answered or has its connection closed with a log line naming it malformed; none hits a
 * handler bug ("internal error"); and afterwards kafkajs clients produce and consume as before.
 * Seeded (CHOREOSCOPE_FUZZ_SEED): a failure names its case, and re-running reproduces it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket, connect } from 'node:net';
import { fuzzSeed, seededRandom } from '@choreoscope/test-support';
import { Teardown, useBroker, waitFor } from './helpers.ts';

const SEED = fuzzSeed('choreoscope-broker-fuzz-1');
const MUTANTS_PER_REQUEST = 24;
const PARALLEL_CONNECTIONS = 32;
/** How long a replayed request may go unanswered: a damaged Fetch or JoinGroup may legitimately wait. */
const ANSWER_WAIT_MS = 400;

const env = useBroker('fuzz');

/** Every request frame kafkajs writes to the broker while `session` runs, size prefix included. */
async function recordRequests(session: () => Promise<void>): Promise<Buffer[]> {
  const recorded: Buffer[] = [];
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    if (this.remotePort === env.broker.port && Buffer.isBuffer(chunk)) recorded.push(Buffer.from(chunk));
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof Socket.prototype.write;
  try {
    await session();
  } finally {
    Socket.prototype.write = write;
  }
  return recorded;
}

/** A real session: an idempotent producer, a consumer group member that consumes, commits and leaves. */
async function kafkajsSession(topic: string, groupId: string): Promise<void> {
  const teardown = new Teardown();
  try {
    const producer = await teardown.connect(env.kafka.producer({ idempotent: true }));
    await producer.send({ topic, messages: [{ key: 'order-1', value: 'created', headers: { traceparent: '00-ab-cd-01' } }] });
    const consumer = await teardown.connect(env.kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 50 }));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let consumed = 0;
    await consumer.run({ eachMessage: async () => void (consumed += 1) });
    await waitFor(() => consumed >= 1, 15_000, 'the message consumed');
    await new Promise((resolve) => setTimeout(resolve, 300)); // heartbeats go out meanwhile
    await consumer.commitOffsets([{ topic, partition: 0, offset: '1' }]);
    const admin = await teardown.connect(env.kafka.admin());
    await admin.fetchTopicOffsets(topic);
  } finally {
    await teardown.run();
  }
}

const HEADER_BYTES = 4 + 2 + 2 + 4; // size, api key, api version, correlation id: kept, so the damage reaches the body

/** The frame damaged past its header, its size field made to match what is sent. */
function mutate(frame: Buffer, random: () => number): Buffer {
  const body = Buffer.from(frame.subarray(HEADER_BYTES));
  const position = () => Math.floor(random() * Math.max(body.length, 1));
  let damaged: Buffer;
  switch (Math.floor(random() * 5)) {
    case 0: // a few bits flipped
      for (let i = 0, n = 1 + Math.floor(random() * 3); i < n && body.length > 0; i++) body[position()]! ^= 1 << Math.floor(random() * 8);
      damaged = body;
      break;
    case 1: { // a 16- or 32-bit field set to an extreme: -1, 0 or the largest positive value
      const width = random() < 0.5 ? 2 : 4;
      const at = Math.min(position(), Math.max(body.length - width, 0));
      const extreme = [-1, 0, width === 2 ? 0x7fff : 0x7fffffff][Math.floor(random() * 3)]!;
      if (body.length >= width) width === 2 ? body.writeInt16BE(extreme, at) : body.writeInt32BE(extreme, at);
      damaged = body;
      break;
    }
    case 2: // cut short
      damaged = body.subarray(0, position());
      break;
    case 3: // garbage appended (trailing bytes the decoder must notice or ignore)
      damaged = Buffer.concat([body, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 32) }, () => Math.floor(random() * 256)))]);
      break;
    default: { // a slice repeated: lengths now point at the wrong bytes
      const from = position();
      const to = Math.min(body.length, from + 1 + Math.floor(random() * 24));
      damaged = Buffer.concat([body.subarray(0, to), body.subarray(from, to), body.subarray(to)]);
    }
  }
  const out = Buffer.concat([frame.subarray(0, HEADER_BYTES), damaged]);
  out.writeInt32BE(out.length - 4, 0);
  return out;
}

type Outcome = 'answered' | 'closed' | 'waiting';

/** Sends `frame` on a new connection: answered (a response frame came), closed by the broker, or still waiting. */
function replay(frame: Buffer): Promise<{ outcome: Outcome; localPort: number }> {
  return new Promise((resolve) => {
    const socket = connect(env.broker.port, '127.0.0.1');
    let received = 0;
    let settled = false;
    let localPort = 0; // gone once the socket is closed: kept from the connect
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, localPort });
    };
    const timer = setTimeout(() => settle('waiting'), ANSWER_WAIT_MS);
    socket.on('error', () => {});
    socket.on('connect', () => {
      localPort = socket.localPort!;
      socket.write(frame);
    });
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (received >= 8) settle('answered');
    });
    socket.on('close', () => settle('closed'));
  });
}

test(`${MUTANTS_PER_REQUEST} damaged copies of every request kafkajs sends: each answered or its connection closed as malformed, no handler error, kafkajs unaffected (seed ${SEED})`, async () => {
  const recorded = await recordRequests(() => kafkajsSession(env.unique('fuzz'), env.unique('fuzz-group')));
  // one frame of each api and version
  const samples = new Map<string, Buffer>();
  for (const frame of recorded) {
    if (frame.length < HEADER_BYTES || frame.readInt32BE(0) !== frame.length - 4) continue; // one write, one frame
    samples.set(`${frame.readInt16BE(4)} v${frame.readInt16BE(6)}`, frame);
  }
  const apis = [...samples.keys()].map((key) => Number(key.split(' ')[0]));
  for (const required of [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 22]) assert.ok(apis.includes(required), `the session sent api ${required}: ${[...samples.keys()]}`);

  const random = seededRandom(SEED);
  const cases = [...samples].flatMap(([api, frame]) => Array.from({ length: MUTANTS_PER_REQUEST }, () => ({ api, frame: mutate(frame, random) })));
  const logLinesBefore = env.brokerLog.lines.length;
  const outcomes: { api: string; outcome: Outcome; localPort: number }[] = [];
  for (let from = 0; from < cases.length; from += PARALLEL_CONNECTIONS) {
    const batch = cases.slice(from, from + PARALLEL_CONNECTIONS);
    outcomes.push(...await Promise.all(batch.map(async ({ api, frame }) => ({ api, ...await replay(frame) }))));
  }

  const tally = (outcome: Outcome) => outcomes.filter((o) => o.outcome === outcome).length;
  assert.ok(tally('answered') > 0 && tally('closed') > 0, `both outcomes reached: ${tally('answered')} answered, ${tally('closed')} closed, ${tally('waiting')} waiting`);
  const lines = env.brokerLog.lines.slice(logLinesBefore).map((l) => l.line);
  const internal = lines.filter((line) => line.includes('internal error'));
  assert.deepEqual(internal, [], 'no damaged request reached a handler bug');
  for (const closed of outcomes.filter((o) => o.outcome === 'closed')) {
    const said = lines.find((line) => line.includes(`closing connection 127.0.0.1:${closed.localPort}:`));
    assert.match(said ?? '(no log line)', /malformed request|frame size/, `${closed.api} closed`);
  }

  // the broker serves real clients as before, on a new topic and group
  await kafkajsSession(env.unique('after-fuzz'), env.unique('after-fuzz-group'));
});
