/**
 * Follows the control topic from its beginning with a consumer group of this process's own, so every
 * process (every instance of a service, a restarted one too) sees every command and folds the switches
 * into the same state. Not traced: fault switches are not part of any order's flow.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TOPICS } from './events.ts';
import { applyCommand, isOneShot, noFaults, type ControlMessage, type FaultCommand, type FaultState } from './faults.ts';

export interface FaultWatch {
  stop(): Promise<void>;
}

export interface FaultListeners {
  /** A switch changed (also for the commands replayed at start), and the switches now in force. */
  onSwitch(command: FaultCommand, state: FaultState): void;
  /** A one-shot command sent after this process started. */
  onOneShot(command: FaultCommand): void;
}

/**
 * Resolves once the commands already on the topic are folded in, so a service restarted while paused does
 * not handle a message before its pause is known.
 */
export async function watchFaults(kafka: Kafka, instance: string, listeners: FaultListeners): Promise<FaultWatch> {
  const startedAt = Date.now();
  let state = noFaults();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPICS.control).finally(() => admin.disconnect());
  const behind = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  let caughtUp!: () => void;
  const replayed = new Promise<void>((resolve) => { caughtUp = resolve; });
  if (behind.size === 0) caughtUp();
  const consumer = kafka.consumer({ groupId: `demo-control-${instance}-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.control, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      try {
        fold(message.value);
      } finally {
        const end = behind.get(partition);
        if (end !== undefined && BigInt(message.offset) + 1n >= end) {
          behind.delete(partition);
          if (behind.size === 0) caughtUp();
        }
      }
    },
  });
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 30_000).unref());
  await Promise.race([replayed, timeout]);
  return { stop: () => consumer.disconnect() };

  function fold(value: Buffer | null): void {
    const control = readControl(value);
    if (control === undefined) return;
    const { command } = control;
    if (isOneShot(command)) {
      if (control.at >= startedAt) listeners.onOneShot(command);
      return;
    }
    state = applyCommand(state, command);
    listeners.onSwitch(command, state);
  }
}

/** Publishes commands on the control topic, for every process to see. */
export async function sendCommands(kafka: Kafka, commands: readonly FaultCommand[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const at = Date.now();
    await producer.send({
      topic: TOPICS.control,
      messages: commands.map((command) => ({ value: JSON.stringify({ command, at } satisfies ControlMessage) })),
    });
  } finally {
    await producer.disconnect();
  }
}

function readControl(value: Buffer | null): ControlMessage | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value.toString()) as ControlMessage;
    return typeof parsed?.command?.kind === 'string' && typeof parsed.at === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
