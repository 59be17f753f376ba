// Embedded broker throughput: produce then consume N messages of S bytes with kafkajs, the broker in a
// separate process. Prints msgs/s and MB/s per phase and each process's share of a CPU core: the
// kafkajs client's share is the baseline the broker is measured against (the broker should need less
// CPU per message than the client that feeds it, so it is never the bottleneck).
//
//   npm run bench:broker -- [--messages 100000] [--size 1024] [--batch 500] [--in-flight 4]
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { childCpu, measure, ownCpu } from './cpu-meter.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    size: { type: 'string', default: '1024' },
    batch: { type: 'string', default: '500' },
    'in-flight': { type: 'string', default: '4' },
  },
});
const total = Number(values.messages);
const size = Number(values.size);
const batchSize = Number(values.batch);
const inFlight = Number(values['in-flight']);
const topic = `bench-${Date.now()}`;

const child = fork(new URL('./broker-process.ts', import.meta.url), { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
const address = await new Promise<string>((resolve) => child.once('message', (m: { address: string }) => resolve(m.address)));
const cpu = { client: ownCpu, broker: childCpu(child) };

const kafka = new Kafka({ brokers: [address], clientId: 'bench', logLevel: logLevel.ERROR });
const value = Buffer.alloc(size, 'x');
// Progress on one rewritten line in a terminal, one line per step in a log.
const progress = (phase: string, done: number) =>
  process.stdout.write(`${process.stdout.isTTY ? '\r' : ''}  ${phase}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')}${process.stdout.isTTY ? '' : '\n'}`);
const endProgress = () => process.stdout.isTTY && process.stdout.write('\n');

console.log(`embedded broker benchmark: ${total.toLocaleString('en')} messages of ${size} B, kafkajs batches of ${batchSize}, ${inFlight} in flight`);
const producer = kafka.producer();
await producer.connect();
await producer.send({ topic, messages: [{ value: 'warm-up' }] });

const produced = await measure(cpu, async () => {
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < total) {
      const count = Math.min(batchSize, total - next);
      next += count;
      await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: String(i % 64), value })) });
      sent += count;
      if (sent % 20_000 < count) progress('produce', sent);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  endProgress();
});
await producer.disconnect();

const consumer = kafka.consumer({ groupId: `bench-${Date.now()}`, maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 10 * 1024 * 1024 });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
const consumed = await measure(cpu, () =>
  new Promise<void>((resolve) => {
    let count = -1; // the warm-up message
    void consumer.run({
      eachBatch: async ({ batch }) => {
        const before = count;
        count += batch.messages.length;
        if (Math.floor(count / 20_000) > Math.floor(before / 20_000)) progress('consume', Math.min(count, total));
        if (count >= total) {
          endProgress();
          resolve();
        }
      },
    });
  }),
);
await consumer.disconnect();
child.send('stop');

const mb = (total * size) / 1e6;
const row = (phase: string, m: typeof produced) => {
  const share = (name: 'client' | 'broker') => `${((m.cpuSeconds[name]! / m.wallSeconds) * 100).toFixed(0)}%`.padStart(6);
  const perMsg = (name: 'client' | 'broker') => `${((m.cpuSeconds[name]! / total) * 1e6).toFixed(1)}`.padStart(7);
  return `${phase.padEnd(8)} ${Math.round(total / m.wallSeconds).toLocaleString('en').padStart(10)} ${(mb / m.wallSeconds).toFixed(1).padStart(8)} ${share('client')} ${perMsg('client')} ${share('broker')} ${perMsg('broker')}`;
};
console.log('\nphase       msgs/s     MB/s  client  µs/msg  broker  µs/msg');
console.log('                                (kafkajs, baseline)  (embedded broker)');
console.log(row('produce', produced));
console.log(row('consume', consumed));
console.log(`\nnode ${process.version}, ${total} x ${size} B; CPU share is of one core over the phase's wall time.`);
