import { parseArgs } from 'node:util';
import { startBroker } from './broker/start-broker.ts';

const USAGE = `Usage: embedded-kafka [--port 9092] [--host 127.0.0.1] [--data-dir DIR] [--partitions N]

Runs Choreoscope's embedded Kafka broker until interrupted.
  --port, -p        TCP port (default 9092; 0 picks a free one)
  --host            interface to listen on (default 127.0.0.1)
  --advertised-host host name given to clients in Metadata (default: --host)
  --data-dir, -d    keep messages and committed offsets in DIR across restarts (default: in memory)
  --partitions      partitions of auto-created topics (default 1)
  --quiet, -q       no log lines, only the listening address`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', short: 'p', default: '9092' },
    host: { type: 'string', default: '127.0.0.1' },
    'advertised-host': { type: 'string' },
    'data-dir': { type: 'string', short: 'd' },
    partitions: { type: 'string', default: '1' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const port = Number(values.port);
const partitions = Number(values.partitions);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be 0-65535, not ${values.port}\n\n${USAGE}`);
  process.exit(2);
}
if (!Number.isInteger(partitions) || partitions < 1) {
  console.error(`--partitions must be a positive integer, not ${values.partitions}\n\n${USAGE}`);
  process.exit(2);
}

const broker = await startBroker({
  port,
  host: values.host,
  advertisedHost: values['advertised-host'],
  dataDir: values['data-dir'],
  defaultPartitions: partitions,
  ...(values.quiet ? { log: () => {} } : {}),
});
console.log(`embedded Kafka broker listening on ${broker.address}${values['data-dir'] ? ` (data in ${values['data-dir']})` : ' (in memory)'}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void broker.stop().then(() => process.exit(0));
  });
}
