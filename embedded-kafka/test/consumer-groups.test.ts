import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { startBroker, type RunningBroker } from '../src/index.ts';
import { Teardown, collectLog, kafkaClient, waitFor, type LogCollector } from './helpers.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const memberFixture = fileURLToPath(new URL('./fixtures/group-member.ts', import.meta.url));

const ALL_PARTITIONS = [0, 1, 2];
const SESSION_TIMEOUT_MS = 3_000;

interface Consumed {
  member: string;
  partition: number;
  offset: number;
  value: string;
  at: number;
}

interface Member {
  name: string;
  consumer: Consumer;
  /** Partitions of the topic from the latest GROUP_JOIN, sorted; null before the first. */
  assignment: number[] | null;
  memberId: string;
}

const sorted = (partitions: number[]) => [...partitions].sort((a, b) => a - b);
const sameSet = (a: number[] | null, b: number[]) => a !== null && a.length === b.length && sorted(a).every((p, i) => p === sorted(b)[i]);
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function startGroupBroker(teardown: Teardown): Promise<{ broker: RunningBroker; brokerLog: LogCollector }> {
  const brokerLog = collectLog();
  const broker = await startBroker({ minSessionTimeoutMs: 1_000, log: brokerLog.log });
  teardown.defer(() => broker.stop());
  return { broker, brokerLog };
}

async function connectedProducer(kafka: Kafka, teardown: Teardown): Promise<Producer> {
  const producer = kafka.producer();
  await producer.connect();
  teardown.defer(() => producer.disconnect());
  return producer;
}

/** Produces `count` values `<label>-<i>` round-robin over the topic's three partitions; returns them. */
async function produceRoundRobin(producer: Producer, topic: string, label: string, count: number): Promise<{ value: string; partition: number }[]> {
  const messages = Array.from({ length: count }, (_, i) => ({ value: `${label}-${i}`, partition: i % ALL_PARTITIONS.length }));
  await producer.send({ topic, messages });
  return messages;
}

/** A group member in this process: records its assignments (GROUP_JOIN) and what it consumes. */
async function startMember(
  kafka: Kafka,
  teardown: Teardown,
  options: { name: string; groupId: string; topic: string; consumed: Consumed[] },
): Promise<Member> {
  const consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    rebalanceTimeout: 6_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const member: Member = { name: options.name, consumer, assignment: null, memberId: '' };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    member.memberId = payload.memberId;
    member.assignment = sorted(payload.memberAssignment[options.topic] ?? []);
  });
  teardown.defer(() => consumer.disconnect());
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      options.consumed.push({
        member: options.name,
        partition,
        offset: Number(message.offset),
        value: message.value?.toString() ?? '',
        at: Date.now(),
      });
    },
  });
  return member;
}

const valuesOf = (consumed: Consumed[]) => new Set(consumed.map((c) => c.value));
const missingFrom = (consumed: Consumed[], expected: { value: string }[]) => {
  const seen = valuesOf(consumed);
  return expected.filter((m) => !seen.has(m.value)).map((m) => m.value);
};

test('two members split a 3-partition topic, the one that stays takes over all partitions when the other leaves, nothing is lost', async (t) => {
  const teardown = new Teardown();
  t.after(() => teardown.run());
  const { broker, brokerLog } = await startGroupBroker(teardown);
  const topic = 'split-three';
  const groupId = 'split-group';
  broker.createTopic(topic, 3);
  const kafka = kafkaClient(broker.address, 'consumer-groups-split');
  const producer = await connectedProducer(kafka, teardown);
  const consumed: Consumed[] = [];
  const produced: { value: string; partition: number }[] = [];

  produced.push(...(await produceRoundRobin(producer, topic, 'before', 6)));

  const a = await startMember(kafka, teardown, { name: 'a', groupId, topic, consumed });
  await waitFor(() => sameSet(a.assignment, ALL_PARTITIONS), 10_000, 'the first member to be assigned every partition');

  const b = await startMember(kafka, teardown, { name: 'b', groupId, topic, consumed });
  const isSplit = () =>
    a.assignment !== null && b.assignment !== null && a.assignment.length > 0 && b.assignment.length > 0 &&
    sameSet([...a.assignment, ...b.assignment], ALL_PARTITIONS);
  await waitFor(isSplit, 15_000, () => `the two members to split the partitions (a: ${a.assignment}, b: ${b.assignment})`);
  const ownerOf = new Map<number, string>();
  for (const p of a.assignment!) ownerOf.set(p, 'a');
  for (const p of b.assignment!) ownerOf.set(p, 'b');
  assert.equal(ownerOf.size, 3, `assignments overlap: a ${a.assignment}, b ${b.assignment}`);
  assert.notEqual(a.memberId, b.memberId);

  // While the split holds, each member consumes exactly the partitions it was assigned.
  const duringSplit = await produceRoundRobin(producer, topic, 'during-split', 9);
  produced.push(...duringSplit);
  await waitFor(() => missingFrom(consumed, duringSplit).length === 0, 10_000, 'messages produced during the split to be consumed');
  const splitConsumption = consumed.filter((c) => c.value.startsWith('during-split-'));
  for (const c of splitConsumption) {
    assert.equal(c.member, ownerOf.get(c.partition), `${c.value} (partition ${c.partition}) consumed by ${c.member}, owner is ${ownerOf.get(c.partition)}`);
  }
  assert.ok(splitConsumption.some((c) => c.member === 'a'), 'member a consumed nothing during the split');
  assert.ok(splitConsumption.some((c) => c.member === 'b'), 'member b consumed nothing during the split');

  // b leaves (LeaveGroup on disconnect) while messages keep arriving.
  const bPartitions = b.assignment!;
  const leaving = b.consumer.disconnect();
  produced.push(...(await produceRoundRobin(producer, topic, 'during-leave', 9)));
  await leaving;
  assert.ok(brokerLog.find(new RegExp(`member ${escapeRegExp(b.memberId)} left`)), `broker log has no LeaveGroup from b:\n${brokerLog.text()}`);
  await waitFor(() => sameSet(a.assignment, ALL_PARTITIONS), 10_000, () => `the remaining member to take over every partition (a: ${a.assignment})`);

  const after = await produceRoundRobin(producer, topic, 'after', 9);
  produced.push(...after);
  await waitFor(() => missingFrom(consumed, produced).length === 0, 15_000, () => `every produced message to be consumed (missing: ${missingFrom(consumed, produced)})`);

  assert.deepEqual(missingFrom(consumed, produced), []);
  const afterConsumption = consumed.filter((c) => c.value.startsWith('after-'));
  assert.ok(afterConsumption.every((c) => c.member === 'a'), 'b consumed after it left');
  assert.ok(
    afterConsumption.some((c) => bPartitions.includes(c.partition)),
    `a consumed nothing from b's former partitions ${bPartitions}`,
  );
  // Nothing was consumed that was not produced.
  const producedValues = new Set(produced.map((m) => m.value));
  assert.deepEqual(consumed.filter((c) => !producedValues.has(c.value)), []);
});

test('a consumer restarted with the same group id resumes after its committed offset', async (t) => {
  const teardown = new Teardown();
  t.after(() => teardown.run());
  const { broker } = await startGroupBroker(teardown);
  const topic = 'resume-topic';
  const groupId = 'resume-group';
  broker.createTopic(topic, 3);
  const kafka = kafkaClient(broker.address, 'consumer-groups-resume');
  const producer = await connectedProducer(kafka, teardown);
  const admin = kafka.admin();
  await admin.connect();
  teardown.defer(() => admin.disconnect());

  const first = await produceRoundRobin(producer, topic, 'first', 9);
  const firstRun: Consumed[] = [];
  const firstConsumer = await startMember(kafka, teardown, { name: 'first-run', groupId, topic, consumed: firstRun });
  await waitFor(() => missingFrom(firstRun, first).length === 0, 10_000, 'the first run to consume the first messages');

  // Autocommit after each batch: wait until the broker holds the end offset of every partition.
  const committed = async () => {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(offsets.flatMap((t) => t.partitions.map((p) => [p.partition, Number(p.offset)] as const)));
  };
  await waitFor(async () => {
    const offsets = await committed();
    return ALL_PARTITIONS.every((p) => offsets.get(p) === 3);
  }, 10_000, 'the first run to commit');
  assert.deepEqual(await committed(), new Map([[0, 3], [1, 3], [2, 3]]));
  await firstConsumer.consumer.disconnect();

  const second = await produceRoundRobin(producer, topic, 'second', 9);
  const secondRun: Consumed[] = [];
  await startMember(kafka, teardown, { name: 'second-run', groupId, topic, consumed: secondRun });
  await waitFor(() => missingFrom(secondRun, second).length === 0, 10_000, 'the restarted consumer to consume the new messages');

  // A partition is consumed in offset order, so any re-read of old messages would already have arrived.
  assert.deepEqual(secondRun.filter((c) => c.value.startsWith('first-')).map((c) => c.value), [], 'restarted consumer re-read processed messages');
  assert.deepEqual(secondRun.map((c) => c.value).sort(), second.map((m) => m.value).sort());
  for (const p of ALL_PARTITIONS) {
    const offsets = secondRun.filter((c) => c.partition === p).map((c) => c.offset);
    assert.deepEqual(offsets, [3, 4, 5], `partition ${p} consumed at offsets ${offsets}`);
  }
  assert.deepEqual(firstRun.map((c) => c.value).sort(), first.map((m) => m.value).sort());
});

interface ChildEvent {
  event: 'join' | 'message';
  memberId?: string;
  partitions?: number[];
  partition?: number;
  offset?: string;
  value?: string;
}

test('a member that crashes without LeaveGroup is evicted after its session timeout and the survivor takes over its partitions', async (t) => {
  const teardown = new Teardown();
  t.after(() => teardown.run());
  const { broker, brokerLog } = await startGroupBroker(teardown);
  const topic = 'crash-topic';
  const groupId = 'crash-group';
  const childSessionTimeoutMs = 2_000;
  broker.createTopic(topic, 3);
  const kafka = kafkaClient(broker.address, 'consumer-groups-crash');
  const producer = await connectedProducer(kafka, teardown);
  const consumed: Consumed[] = [];

  const survivor = await startMember(kafka, teardown, { name: 'survivor', groupId, topic, consumed });
  await waitFor(() => sameSet(survivor.assignment, ALL_PARTITIONS), 10_000, 'the survivor to be assigned every partition');

  const child = spawn(process.execPath, ['--import', 'tsx', memberFixture, broker.address, topic, groupId, String(childSessionTimeoutMs)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  teardown.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  let childStderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (childStderr += text));
  const childEvents: ChildEvent[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => childEvents.push(JSON.parse(line) as ChildEvent));
  const childJoin = () => childEvents.filter((e) => e.event === 'join').at(-1);

  await waitFor(
    () => {
      const join = childJoin();
      return join !== undefined && join.partitions!.length > 0 && survivor.assignment!.length > 0 &&
        sameSet([...join.partitions!, ...survivor.assignment!], ALL_PARTITIONS);
    },
    20_000,
    () => `the child member to join and share the partitions (child: ${JSON.stringify(childJoin())}, survivor: ${survivor.assignment}, child stderr: ${childStderr})`,
  );
  const childMemberId = childJoin()!.memberId!;
  const childPartitions = childJoin()!.partitions!;

  // The child really consumes its partitions before it dies.
  const beforeCrash = await produceRoundRobin(producer, topic, 'before-crash', 9);
  const childConsumed = () => new Set(childEvents.filter((e) => e.event === 'message').map((e) => e.value!));
  await waitFor(
    () => beforeCrash.filter((m) => childPartitions.includes(m.partition)).every((m) => childConsumed().has(m.value)),
    10_000,
    'the child to consume the messages on its partitions',
  );

  child.kill('SIGKILL');
  const killedAt = Date.now();
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');

  // Produced while the dead member still holds its partitions: only the survivor can consume these.
  const afterCrash = await produceRoundRobin(producer, topic, 'after-crash', 9);

  await waitFor(() => sameSet(survivor.assignment, ALL_PARTITIONS), 15_000, () => `the survivor to take over every partition (survivor: ${survivor.assignment})`);
  const evicted = brokerLog.find(new RegExp(`member ${escapeRegExp(childMemberId)} evicted after ${childSessionTimeoutMs} ms`));
  assert.ok(evicted, `broker log does not mention evicting ${childMemberId}:\n${brokerLog.text()}`);
  assert.equal(brokerLog.find(new RegExp(`member ${escapeRegExp(childMemberId)} left`)), undefined, 'the killed member sent LeaveGroup');
  // The session timer runs from the member's last request, at most a heartbeat or two before the kill.
  assert.ok(
    evicted.at - killedAt >= childSessionTimeoutMs / 2,
    `evicted ${evicted.at - killedAt} ms after the kill, before its ${childSessionTimeoutMs} ms session timeout`,
  );

  await waitFor(() => missingFrom(consumed, afterCrash).length === 0, 15_000, 'the survivor to consume every message produced after the crash');
  const onChildPartitions = consumed.filter((c) => c.value.startsWith('after-crash-') && childPartitions.includes(c.partition));
  assert.equal(onChildPartitions.length, afterCrash.filter((m) => childPartitions.includes(m.partition)).length);
  for (const c of onChildPartitions) {
    assert.ok(c.at >= evicted.at, `${c.value} on the dead member's partition ${c.partition} was consumed before the eviction`);
  }
  // Nothing lost across the crash: every message was consumed by one of the two members.
  const everyone = new Set([...valuesOf(consumed), ...childConsumed()]);
  assert.deepEqual([...beforeCrash, ...afterCrash].filter((m) => !everyone.has(m.value)).map((m) => m.value), []);
});
