/**
 * What every instrumented demo service shares: tracing and an instrumented Kafka client set up exactly as
 * the instrumentation's README tells a user to, the fault switches from the control topic applied to its
 * consumers, and a clean stop on SIGTERM/SIGINT.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { instrumentKafka, instrumentKafkaProducer, processMessage, type ContextMode, type MessageView } from '@choreoscope/instrumentation';
import { startTracing, type RunningTracing } from '@choreoscope/instrumentation/setup';
import { readServiceEnv } from './env.ts';
import { parseEvent, toMessage, TOPIC_OF, type OrderEvent } from './events.ts';
import { describeCommand, noFaults, type FaultCommand, type FaultState, type ServiceName } from './faults.ts';
import { watchFaults } from './fault-watch.ts';
import { firstGroupJoin } from './group-join.ts';
import { ensureTopics, PARTITIONS } from './topics.ts';

export interface ServiceOptions {
  contextMode?: ContextMode;
}

export interface Subscription {
  groupId: string;
  topics: string[];
  /** Handle messages one by one (`eachMessage`) or a fetched batch at a time (`eachBatch`). */
  mode?: 'each-message' | 'each-batch';
  /** Called for every event, inside the message's span. Throwing makes kafkajs deliver it again. */
  handle: (event: OrderEvent, delivery: Delivery) => Promise<void>;
}

/** Where a message came from, and how often it was delivered (a retry after a throw counts). */
export interface Delivery {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
}

export interface ServiceRuntime {
  /** A client without instrumentation, for what must not be traced. */
  plainKafka: Kafka;
  /** Instruments a producer made from `plainKafka` as `kafka`'s are (or leaves it be when tracing is off). */
  instrumentProducer(producer: Producer): Producer;
  producer: Producer;
  faults(): FaultState;
  /** Publishes an event to its topic, keyed by order id, inside the current span's context. */
  publish(event: OrderEvent): Promise<void>;
  /** Called on each one-shot command meant for this service (crash and redeliver are handled here). */
  onCommand(listener: (command: FaultCommand) => void): void;
  /** Resolves once the group has assigned this member its partitions. */
  subscribe(subscription: Subscription): Promise<void>;
  /** Says the service is running: every subscription made (the line the demo waits for). */
  running(): void;
  log(line: string): void;
  /** Runs at stop, before the Kafka clients disconnect. */
  onStop(work: () => Promise<void> | void): void;
}

export async function startService(name: ServiceName, options: ServiceOptions = {}): Promise<ServiceRuntime> {
  const env = readServiceEnv(name);
  const log = (line: string) => console.log(`${new Date().toISOString()} ${env.instance} ${line}`);
  // DEMO_TRACING=off runs the same service without the instrumentation: the benchmark's baseline.
  const traced = process.env.DEMO_TRACING !== 'off';
  const tracing: RunningTracing | undefined = traced ? startTracing({
    serviceName: name,
    resourceAttributes: { 'service.instance.id': env.instance, 'deployment.environment.name': 'demo' },
    ...(env.ingestToken ? { headers: { authorization: `Bearer ${env.ingestToken}` } } : {}),
  }) : undefined;
  const kafkaConfig = { clientId: env.instance, brokers: env.brokers, logLevel: logLevel.WARN };
  const plainKafka = new Kafka(kafkaConfig);
  const instrumentation = {
    eventType: (message: MessageView) => parseEvent(message.value)?.type,
    businessKey: (message: MessageView) => parseEvent(message.value)?.orderId,
    ...(options.contextMode ? { contextMode: options.contextMode } : {}),
  };
  const kafka = traced ? instrumentKafka(new Kafka(kafkaConfig), instrumentation) : new Kafka(kafkaConfig);
  await ensureTopics(plainKafka);
  const producer = kafka.producer();
  await producer.connect();

  const consumers: Array<{ consumer: Consumer; topics: string[]; lastOffsets: Map<string, bigint>; assigned: Record<string, number[]> }> = [];
  const stopWork: Array<() => Promise<void> | void> = [];
  const commandListeners: Array<(command: FaultCommand) => void> = [];
  // the switches in force, as the control topic says (replayed from its start when this process starts)
  let faults = noFaults();
  // handlings left whose sends are lost (lose-sends); a handling marked so drops every send it makes
  let losingSends = 0;
  const losing = new AsyncLocalStorage<boolean>();

  const applyPause = () => {
    const paused = faults.paused.has(name);
    for (const { consumer, topics } of consumers) {
      if (paused) consumer.pause(topics.map((topic) => ({ topic })));
      else consumer.resume(topics.map((topic) => ({ topic })));
    }
  };
  const redeliver = (count: number) => {
    for (const { consumer, lastOffsets } of consumers) {
      for (const [where, last] of lastOffsets) {
        const [topic, partition] = splitWhere(where);
        const offset = last + 1n - BigInt(count);
        consumer.seek({ topic, partition, offset: String(offset < 0n ? 0n : offset) });
      }
    }
  };
  // every partition read goes to its end, as `kafka-consumer-groups --reset-offsets --to-latest` would put it
  const skipBacklog = async () => {
    const admin = plainKafka.admin();
    await admin.connect();
    try {
      let partitions = 0;
      for (const { consumer, assigned } of consumers) {
        for (const [topic, mine] of Object.entries(assigned)) {
          for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
            if (!mine.includes(partition)) continue; // another instance's
            consumer.seek({ topic, partition, offset: high });
            partitions += 1;
          }
        }
      }
      log(`jumped to the end of ${partitions} partition(s) (skip-backlog)`);
    } finally {
      await admin.disconnect();
    }
  };
  const faultWatch = await watchFaults(plainKafka, env.instance, {
    onSwitch: (command, state) => {
      faults = state;
      log(`fault: ${describeCommand(command)}`);
      applyPause();
    },
    onOneShot: (command) => {
      if (!('service' in command) || command.service !== name) return;
      log(`fault: ${describeCommand(command)}`);
      if (command.kind === 'crash') process.kill(process.pid, 'SIGKILL');
      if (command.kind === 'redeliver') redeliver(command.count);
      if (command.kind === 'lose-sends') losingSends += command.count;
      if (command.kind === 'skip-backlog') skipBacklog().catch((error: Error) => log(`skip-backlog failed: ${error.message}`));
      for (const listener of commandListeners) listener(command);
    },
  });

  const runtime: ServiceRuntime = {
    plainKafka, producer,
    instrumentProducer: (raw) => (traced ? instrumentKafkaProducer(raw, instrumentation) : raw),
    faults: () => faults,
    log,
    onCommand: (listener) => commandListeners.push(listener),
    onStop: (work) => stopWork.push(work),
    running: () => log(`running (brokers ${env.brokers.join(',')})`),
    async publish(event) {
      if (losing.getStore() === true) return log(`lost ${event.type} for ${event.orderId} (lose-sends)`);
      await producer.send({ topic: TOPIC_OF[event.type], messages: [toMessage(event)] });
    },
    async subscribe(subscription) {
      const consumer = kafka.consumer({ groupId: subscription.groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
      const entry = { consumer, topics: subscription.topics, lastOffsets: new Map<string, bigint>(), assigned: {} as Record<string, number[]> };
      // kafkajs forgets a pause when the consumer restarts itself after a crash: paused again at each join
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        entry.assigned = event.payload.memberAssignment;
        applyPause();
      });
      // Ready only once the group has given this member its partitions: orders placed before would be
      // handled, then handled again by the member that takes them over at the rebalance.
      const joined = firstGroupJoin(consumer);
      await consumer.connect();
      await consumer.subscribe({ topics: subscription.topics, fromBeginning: true });
      const attempts = new Map<string, number>();
      const handleOne = async (topic: string, partition: number, message: KafkaMessage) => {
        const where = `${topic}\u0000${partition}`;
        const key = `${where}\u0000${message.offset}`;
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        const event = parseEvent(message.value);
        const slowMs = faults.slowMs.get(name) ?? 0;
        if (slowMs > 0) await sleep(slowMs);
        const lose = event !== undefined && losingSends > 0;
        if (lose) losingSends -= 1;
        if (event !== undefined) await losing.run(lose, () => subscription.handle(event, { topic, partition, offset: message.offset, attempt }));
        attempts.delete(key);
        entry.lastOffsets.set(where, BigInt(message.offset));
      };
      if (subscription.mode === 'each-batch') {
        await consumer.run({
          partitionsConsumedConcurrently: PARTITIONS,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            for (const message of batch.messages) {
              if (!isRunning() || isStale()) break;
              await processMessage(message, () => handleOne(batch.topic, batch.partition, message));
              resolveOffset(message.offset);
              await heartbeat();
            }
          },
        });
      } else {
        // partitions side by side, each in order: one order's events stay in sequence (keyed by order id)
        await consumer.run({ partitionsConsumedConcurrently: PARTITIONS, eachMessage: ({ topic, partition, message }) => handleOne(topic, partition, message) });
      }
      consumers.push(entry); // pausing a consumer before run() throws
      applyPause();
      await joined;
      log(`joined group ${subscription.groupId}`);
    },
  };

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const timer = setTimeout(() => { log('stop took over 10 s; exiting'); process.exit(1); }, 10_000);
    timer.unref();
    for (const work of stopWork) await work();
    await Promise.allSettled(consumers.map(({ consumer }) => consumer.disconnect()));
    await faultWatch.stop();
    await producer.disconnect().catch(() => {});
    await tracing?.shutdown().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log(`connected to ${env.brokers.join(',')}`);
  return runtime;
}

function splitWhere(where: string): [string, number] {
  const cut = where.lastIndexOf('\u0000');
  return [where.slice(0, cut), Number(where.slice(cut + 1))];
}

