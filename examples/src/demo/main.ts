/**
 * `npm run demo`: the order choreography, live. Starts everything (launch.ts), prints the dashboard's
 * address, places orders, and after a minute of normal traffic plays the fault schedule (schedule.ts)
 * so stalls and alerts show without anyone doing anything. Ctrl-C stops every process it started.
 *
 *   npm run demo -- [--rate 5] [--port 4318] [--no-faults] [--keep-data] [--broker-port 9092] [--order-port 4401] [--data-dir DIR]
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describeCommand } from '../faults.ts';
import { launchDemo, type RunningDemo } from './launch.ts';
import { dueFaults, NORMAL_TRAFFIC_S, SCHEDULE } from './schedule.ts';
import { readStatus, formatStatus } from './status.ts';

const USAGE = `Usage: npm run demo -- [--rate N] [--port P] [--no-faults] [--keep-data]
  --rate N          orders per second (default 5; env ORDERS_PER_SECOND)
  --port P          the collector's and dashboard's port (default 4318)
  --no-faults       normal traffic only; inject faults yourself with npm run demo:fault
  --keep-data       keep what the last run stored (default: start afresh)
  --broker-port P   the embedded Kafka broker's port (default 9092)
  --order-port P    the order service's HTTP port (default 4401)
  --data-dir DIR    where the broker, the collector and the logs keep their files (default examples/.data)
Environment: KAFKA_BROKERS=host:port,… uses that Kafka instead of the embedded broker.`;

const root = fileURLToPath(new URL('../../../', import.meta.url));
let args;
try {
  args = parseArgs({
    options: {
      rate: { type: 'string' }, port: { type: 'string' }, 'no-faults': { type: 'boolean' }, 'keep-data': { type: 'boolean' }, help: { type: 'boolean' },
      'broker-port': { type: 'string' }, 'order-port': { type: 'string' }, 'data-dir': { type: 'string' },
    },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const number = (text: string | undefined, fallback: number, what: string, max: number): number => {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > max) {
    console.error(`${what} must be a number from 0 to ${max}, not ${JSON.stringify(text)}\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const rate = number(args.rate ?? process.env.ORDERS_PER_SECOND, 5, '--rate', 5_000);
const port = number(args.port, 4318, '--port', 65_535);
const brokerPort = number(args['broker-port'], 9092, '--broker-port', 65_535);
const orderPort = number(args['order-port'], 4401, '--order-port', 65_535);
const kafkaBrokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter((b) => b !== '');
const say = (line: string) => console.log(line);

let demo: RunningDemo | undefined;
let starting: Promise<RunningDemo | undefined> = Promise.resolve(undefined);
let stopping = false;
const stop = async (why: string) => {
  if (stopping) {
    say('still stopping: the services are sending their last spans');
    return;
  }
  stopping = true;
  say(`\n${why}: stopping every process…`);
  // interrupted while starting: stop what has started once it is up
  await (demo ?? (await starting.catch(() => undefined)))?.stop();
  say('stopped; nothing left running');
  process.exit(0);
};
process.on('SIGINT', () => void stop('Ctrl-C'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGHUP', () => void stop('the terminal closed'));

try {
  starting = launchDemo({
    root,
    // npm runs scripts from the package's root; a relative --data-dir means where the user typed it
    dataDir: args['data-dir'] ? resolve(process.env.INIT_CWD ?? process.cwd(), args['data-dir']) : join(root, 'examples', '.data'),
    keepData: args['keep-data'] === true,
    ...(kafkaBrokers && kafkaBrokers.length > 0 ? { kafkaBrokers } : {}),
    brokerPort,
    collectorPort: port,
    orderPort,
    ordersPerSecond: rate,
    collectorArgs: [`--public-url`, `http://127.0.0.1:${port}`],
    say,
  });
  demo = await starting;
} catch (error) {
  console.error(`\nthe demo did not start: ${(error as Error).message}`);
  process.exit(1);
}
if (stopping) await new Promise(() => {}); // interrupted while starting: stop() exits
const running = demo!;
// demo:fault reaches localhost:9092 unless told otherwise
const faultEnv = ['localhost:9092', '127.0.0.1:9092'].includes(running.brokers.join(',')) ? '' : `KAFKA_BROKERS=${running.brokers.join(',')} `;

say(`
  Dashboard:  ${running.collectorUrl}/
  Orders:     ${rate}/s, placed at ${running.orderUrl}/orders
  Logs:       ${running.logDir}/
  Faults:     ${faultEnv}npm run demo:fault -- pause payment   (and resume, slow, crash, drop-context, redeliver, poison, lose-sends, skip-backlog, legacy-hop, clear)
`);
if (args['no-faults']) {
  say('No fault schedule (--no-faults).');
} else {
  say(`After ${NORMAL_TRAFFIC_S} s of normal traffic the demo injects faults, one after another:`);
  for (const entry of SCHEDULE) say(`  +${String(entry.atS).padStart(3)} s  ${entry.fault.padEnd(26)}${entry.see}`);
  const startedAt = Date.now();
  let playedTo = 0;
  setInterval(() => {
    const now = (Date.now() - startedAt) / 1000;
    for (const due of dueFaults(playedTo, now)) {
      say(`${clock()} fault: ${due.commands.map(describeCommand).join(', ')}${due.see ? ` — ${due.see}` : ''}`);
      running.sendFaults(due.commands).catch((error: Error) => say(`${clock()} could not send the fault: ${error.message}`));
    }
    playedTo = now;
  }, 1_000);
}
setInterval(() => {
  readStatus(running.collectorUrl).then((status) => say(`${clock()} ${formatStatus(status)}`), (error: Error) => say(`${clock()} collector: ${error.message}`));
}, 15_000);

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
