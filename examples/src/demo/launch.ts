/**
 * Starts the whole demo: the embedded Kafka broker (unless KAFKA_BROKERS names a Kafka), the collector
 * with the dashboard, every service as its own Node process (payment as two), and the load generator.
 * `npm run demo` (main.ts) and the end-to-end test both start it through here.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import { sendCommands } from '../fault-watch.ts';
import { parseFault, type FaultCommand } from '../faults.ts';
import { ensureTopics, PARTITIONS } from '../topics.ts';
import { freePort } from '../../../scripts/free-port.mjs';
import { Supervisor } from './supervisor.ts';

export interface DemoOptions {
  /** The repository's root. */
  root: string;
  /** Where the broker, the collector and the logs keep their files; emptied first unless `keepData`. */
  dataDir: string;
  keepData?: boolean;
  /** A Kafka to use instead of the embedded broker. */
  kafkaBrokers?: string[];
  /** 0 picks a free port. */
  brokerPort: number;
  collectorPort: number;
  orderPort: number;
  /** 0: no load generator (a test places its own orders). */
  ordersPerSecond: number;
  /** false: no collector, services without the instrumentation (DEMO_TRACING=off), the benchmark's baseline. */
  instrumented?: boolean;
  /** Extra collector flags. */
  collectorArgs?: string[];
  /** Progress lines. */
  say: (line: string) => void;
}

export interface RunningDemo {
  brokers: string[];
  /** The collector, and the dashboard at its root; empty when not instrumented. */
  collectorUrl: string;
  orderUrl: string;
  processes: Supervisor[];
  logDir: string;
  sendFaults(commands: readonly FaultCommand[]): Promise<void>;
  stop(): Promise<void>;
}

/** What the demo keeps in its data directory: the broker's logs, the collector's store, the processes' output. */
const DATA_PARTS = ['kafka', 'collector', 'logs'];

/** The services and how many instances each runs. */
export const SERVICE_PROCESSES: ReadonlyArray<{ service: string; instances: number }> = [
  { service: 'order', instances: 1 },
  { service: 'payment', instances: 2 },
  { service: 'inventory', instances: 1 },
  { service: 'shipping', instances: 1 },
  { service: 'notification', instances: 1 },
  { service: 'warehouse', instances: 1 },
];

export async function launchDemo(options: DemoOptions): Promise<RunningDemo> {
  const { root, dataDir, say } = options;
  // a fresh start removes what an earlier run left, and nothing else that may be in the directory
  if (!options.keepData) for (const part of DATA_PARTS) rmSync(join(dataDir, part), { recursive: true, force: true });
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const started: Supervisor[] = [];
  let broker: RunningBroker | undefined;
  const stop = async () => {
    for (const p of started) p.markStopping();
    // the load first, then the services (they flush their spans to the collector), then the rest
    for (const group of [started.filter((p) => p.name === 'load-generator'), started.filter((p) => p.name !== 'load-generator' && p.name !== 'collector'), started.filter((p) => p.name === 'collector')]) {
      await Promise.all(group.map((p) => p.stop()));
    }
    await broker?.stop();
  };
  try {
    let brokers = options.kafkaBrokers;
    const tsx = ['--import', 'tsx'];
    const t0 = Date.now();
    const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    if (brokers === undefined) {
      say('starting the embedded Kafka broker');
      broker = await startBroker({ port: options.brokerPort, dataDir: join(dataDir, 'kafka'), defaultPartitions: PARTITIONS, log: () => {} })
        .catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EADDRINUSE') throw error;
          throw new Error(`port ${options.brokerPort} is taken (a Kafka already running? KAFKA_BROKERS=localhost:${options.brokerPort} npm run demo uses it)`);
        });
      brokers = [broker.address];
      say(`  Kafka on ${broker.address} (${since()})`);
    } else {
      say(`using the Kafka at ${brokers.join(',')} (KAFKA_BROKERS)`);
    }
    const kafka = new Kafka({ clientId: 'demo', brokers, logLevel: logLevel.NOTHING });
    await ensureTopics(kafka);
    // a Kafka kept from an earlier run may still hold its fault switches: this run starts without any
    await sendCommands(kafka, parseFault(['clear']));

    const instrumented = options.instrumented !== false;
    let collectorUrl = '';
    if (instrumented) {
      say('starting the collector and the dashboard');
      const collector = new Supervisor({
        name: 'collector',
        args: [join(root, 'collector', 'bin', 'choreoscope.mjs'),
          '--port', String(options.collectorPort), '--data-dir', join(dataDir, 'collector'),
          '--config', join(root, 'examples', 'choreoscope.yaml'), ...(options.collectorArgs ?? [])],
        env: {},
        logFile: join(logDir, 'collector.log'),
        readyWhen: /collector listening on (http:\/\/\S+)/,
      }, events(say, since));
      started.push(collector);
      collector.start();
      collectorUrl = (await withTimeout(collector.firstReady, 90_000, 'the collector did not start', join(logDir, 'collector.log')))[1]!;
    }
    const orderPort = options.orderPort === 0 ? await freePort() : options.orderPort;
    const orderUrl = `http://127.0.0.1:${orderPort}`;
    // Spans leave each service every half second (the SDK's default is 5 s), so the dashboard keeps up.
    const common = {
      KAFKA_BROKERS: brokers.join(','), ORDER_HTTP_PORT: String(orderPort),
      ...(instrumented ? { OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, OTEL_BSP_SCHEDULE_DELAY: '500' } : { DEMO_TRACING: 'off' }),
    };

    say(`starting the services: ${SERVICE_PROCESSES.map((s) => s.instances > 1 ? `${s.service} ×${s.instances}` : s.service).join(', ')}`);
    const services: Supervisor[] = [];
    for (const { service, instances } of SERVICE_PROCESSES) {
      for (let i = 1; i <= instances; i++) {
        const instance = instances > 1 ? `${service}-${i}` : service;
        services.push(new Supervisor({
          name: instance,
          args: [...tsx, join(root, 'examples', 'src', 'services', `${service}.ts`)],
          env: { ...common, SERVICE_INSTANCE: instance },
          logFile: join(logDir, `${instance}.log`),
          readyWhen: / running \(brokers/,
        }, events(say, since)));
      }
    }
    started.push(...services);
    for (const service of services) service.start();
    await Promise.all(services.map((s) => withTimeout(s.firstReady, 120_000, `${s.name} did not start`, join(logDir, `${s.name}.log`))));

    if (options.ordersPerSecond > 0) {
      const load = new Supervisor({
        name: 'load-generator',
        args: [...tsx, join(root, 'examples', 'src', 'services', 'load-generator.ts')],
        env: { ORDER_SERVICE_URL: orderUrl, ORDERS_PER_SECOND: String(options.ordersPerSecond) },
        logFile: join(logDir, 'load-generator.log'),
        readyWhen: /placing/,
      }, events(say, since));
      started.push(load);
      load.start();
      await withTimeout(load.firstReady, 60_000, 'the load generator did not start', join(logDir, 'load-generator.log'));
    }
    return {
      brokers, collectorUrl, orderUrl, processes: started, logDir,
      sendFaults: (commands) => sendCommands(kafka, commands),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function events(say: (line: string) => void, since: () => string) {
  return {
    ready: (name: string) => say(`  ✓ ${name} (${since()})`),
    exited: (name: string, code: number | null, signal: NodeJS.Signals | null, restarting: boolean) => {
      if (restarting) say(`  ✗ ${name} exited (${signal ?? `code ${code}`}); restarting it in 5 s`);
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string, logFile: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s; see ${logFile}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
