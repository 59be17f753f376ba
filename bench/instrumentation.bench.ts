// Instrumentation overhead: the same produce→consume workload with plain kafkajs (the baseline), with
// Choreoscope's instrumentation and with @opentelemetry/instrumentation-kafkajs, for eachMessage and
// eachBatch handlers. Each variant runs in a process of its own (the official instrumentation patches
// kafkajs globally), against the embedded broker in another. Spans go through a real SDK pipeline
// (BatchSpanProcessor) to an exporter that discards them. Prints msgs/s, end-to-end latency, the
// variant process's CPU per message, and whether the overhead goals are met.
//
//   npm run bench:instrumentation -- [--messages 20000] [--warmup 2000] [--runs 5] [--size 1024]
//                                    [--per-send 10] [--in-flight 4] [--cpu-prof DIR]
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { Handler, Instrumentation, VariantConfig, VariantResult } from './instrumentation-variant.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '5' },
    size: { type: 'string', default: '1024' },
    'per-send': { type: 'string', default: '10' },
    'in-flight': { type: 'string', default: '4' },
    /** Writes a V8 CPU profile of every variant process into this folder. */
    'cpu-prof': { type: 'string' },
  },
});
const runs = Number(values.runs);
const workload = {
  messages: Number(values.messages),
  warmupMessages: Number(values.warmup),
  sizeBytes: Number(values.size),
  messagesPerSend: Number(values['per-send']),
  sendsInFlight: Number(values['in-flight']),
};

/** Throughput goal from the issue: instrumented ≥ 0.90 × plain. */
const MIN_THROUGHPUT_RATIO = 0.9;
const HANDLERS: Handler[] = ['eachMessage', 'eachBatch'];
const INSTRUMENTATIONS: Instrumentation[] = ['plain', 'choreoscope', 'official'];
const LABELS: Record<Instrumentation, string> = {
  plain: 'plain kafkajs',
  choreoscope: 'choreoscope',
  official: 'otel kafkajs 0.32',
};
const variantName = (i: Instrumentation, h: Handler) => `${LABELS[i]} ${h}`;

const broker = fork(new URL('./broker-process.ts', import.meta.url), { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
process.on('exit', () => broker.kill()); // also when a variant fails
const brokerAddress = await new Promise<string>((resolve) => broker.once('message', (m: { address: string }) => resolve(m.address)));

function runVariant(instrumentation: Instrumentation, handler: Handler): Promise<VariantResult> {
  const config: VariantConfig = { instrumentation, handler, brokerAddress, ...workload };
  // One folder per variant: V8 writes a profile per thread (tsx's module loader has one of its own).
  const profile = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', `${values['cpu-prof']}/${instrumentation}-${handler}`] : [];
  const child = fork(new URL('./instrumentation-variant.ts', import.meta.url), [JSON.stringify(config)], {
    // tsx's ESM hooks only. Its CommonJS hook would slow every require() down with a stack trace, and kafkajs
    // requires its protocol modules lazily on each request, through the official instrumentation's require hook:
    // a cost of this harness, not of any instrumentation.
    execArgv: ['--import', 'tsx/esm', ...profile],
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    let result: VariantResult | undefined;
    child.once('message', (m: VariantResult) => (result = m));
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`${variantName(instrumentation, handler)} exited with ${code}`))));
  });
}

const count = (n: number) => Math.round(n).toLocaleString('en');
const msgsPerSecond = (r: VariantResult) => r.messages / r.wallSeconds;
const cpuMicrosPerMessage = (r: VariantResult) => (r.cpuSeconds / r.messages) * 1e6;

console.log(
  `instrumentation benchmark: ${count(workload.messages)} messages of ${workload.sizeBytes} B per variant ` +
    `(after ${count(workload.warmupMessages)} to warm up), sends of ${workload.messagesPerSend}, ${workload.sendsInFlight} in flight, ` +
    `${runs} run(s) of ${HANDLERS.length * INSTRUMENTATIONS.length} variants`,
);
const results = new Map<string, VariantResult[]>();
for (let run = 1; run <= runs; run++) {
  for (const handler of HANDLERS) {
    for (const instrumentation of INSTRUMENTATIONS) {
      const name = variantName(instrumentation, handler);
      // Which variant is running shows before it ends, its figures when it has.
      process.stdout.write(`  run ${run}/${runs}  ${name.padEnd(30)}`);
      const r = await runVariant(instrumentation, handler);
      results.set(name, [...(results.get(name) ?? []), r]);
      console.log(
        ` ${count(msgsPerSecond(r)).padStart(7)} msgs/s  p50 ${r.latencyP50Ms.toFixed(2)} ms  p99 ${r.latencyP99Ms.toFixed(2)} ms  ` +
          `${cpuMicrosPerMessage(r).toFixed(1)} µs/msg`,
      );
    }
  }
}
broker.send('stop');

/** Median of the runs; with an even count, the mean of the middle two. */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
interface Summary {
  msgsPerSecond: number;
  minMsgsPerSecond: number;
  maxMsgsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerMessage: number;
  minCpuMicrosPerMessage: number;
  maxCpuMicrosPerMessage: number;
  spansPerMessage: number;
}
const summarise = (rs: VariantResult[]): Summary => ({
  msgsPerSecond: median(rs.map(msgsPerSecond)),
  minMsgsPerSecond: Math.min(...rs.map(msgsPerSecond)),
  maxMsgsPerSecond: Math.max(...rs.map(msgsPerSecond)),
  p50Ms: median(rs.map((r) => r.latencyP50Ms)),
  p99Ms: median(rs.map((r) => r.latencyP99Ms)),
  cpuMicrosPerMessage: median(rs.map(cpuMicrosPerMessage)),
  minCpuMicrosPerMessage: Math.min(...rs.map(cpuMicrosPerMessage)),
  maxCpuMicrosPerMessage: Math.max(...rs.map(cpuMicrosPerMessage)),
  spansPerMessage: median(rs.map((r) => r.spansPerMessage)),
});
const summary = (i: Instrumentation, h: Handler) => summarise(results.get(variantName(i, h))!);

console.log(`\nvariant                          msgs/s  (min – max)          p50 ms  p99 ms  CPU µs/msg  spans/msg  × plain`);
for (const handler of HANDLERS) {
  const plain = summary('plain', handler);
  for (const instrumentation of INSTRUMENTATIONS) {
    const s = summary(instrumentation, handler);
    console.log(
      `${variantName(instrumentation, handler).padEnd(30)} ${count(s.msgsPerSecond).padStart(8)}  ` +
        `(${count(s.minMsgsPerSecond)} – ${count(s.maxMsgsPerSecond)})`.padEnd(20) +
        `${s.p50Ms.toFixed(2).padStart(7)} ${s.p99Ms.toFixed(2).padStart(7)} ${s.cpuMicrosPerMessage.toFixed(1).padStart(11)} ` +
        `${s.spansPerMessage.toFixed(2).padStart(10)} ${(s.msgsPerSecond / plain.msgsPerSecond).toFixed(2).padStart(8)}`,
    );
  }
}
console.log(
  `\nMedians of ${runs} run(s). msgs/s: first send to last message consumed. Latency: send timestamp (header) to handler, ` +
    `one process. CPU: the variant process (producer + consumer + SDK), per message. Spans go through ` +
    `BasicTracerProvider → BatchSpanProcessor → an exporter that discards them: the cost shown is span creation, ` +
    `attributes, context propagation and the batch processor, not export. Choreoscope takes the business key from the ` +
    `message key, so its messages also carry that header. node ${process.version}.`,
);

const verdict = (met: boolean) => (met ? 'met' : 'NOT MET');
console.log(`\ngoals for choreoscope:`);
for (const handler of HANDLERS) {
  const plain = summary('plain', handler);
  const ours = summary('choreoscope', handler);
  const official = summary('official', handler);
  const ratio = ours.msgsPerSecond / plain.msgsPerSecond;
  const cpuDelta = ours.cpuMicrosPerMessage / official.cpuMicrosPerMessage - 1;
  const cpuRange = (x: Summary) => `${x.minCpuMicrosPerMessage.toFixed(1)} – ${x.maxCpuMicrosPerMessage.toFixed(1)}`;
  const overlap = ours.minCpuMicrosPerMessage <= official.maxCpuMicrosPerMessage && official.minCpuMicrosPerMessage <= ours.maxCpuMicrosPerMessage;
  console.log(`  ${handler}: throughput ${ratio.toFixed(2)} × plain (goal ≥ ${MIN_THROUGHPUT_RATIO.toFixed(2)}): ${verdict(ratio >= MIN_THROUGHPUT_RATIO)}`);
  console.log(
    `  ${handler}: CPU ${ours.cpuMicrosPerMessage.toFixed(1)} µs/msg (runs ${cpuRange(ours)}) vs ${official.cpuMicrosPerMessage.toFixed(1)} ` +
      `(runs ${cpuRange(official)}) for the official instrumentation, ${cpuDelta >= 0 ? '+' : ''}${(cpuDelta * 100).toFixed(0)} %; ` +
      `${count(ours.msgsPerSecond)} vs ${count(official.msgsPerSecond)} msgs/s. Goal no more costly: ` +
      verdict(ours.cpuMicrosPerMessage <= official.cpuMicrosPerMessage) +
      (overlap && runs > 1 ? ' (the runs overlap: within run-to-run variation)' : ''),
  );
}
