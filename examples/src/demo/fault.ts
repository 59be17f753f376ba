/**
 * `npm run demo:fault -- pause payment`: switches a fault on the demo's control topic, which every demo
 * process follows. Reaches the Kafka in KAFKA_BROKERS (default localhost:9092, the demo's broker), so it
 * works for `npm run demo` and for docker-compose alike.
 */
import { Kafka, logLevel } from 'kafkajs';
import { sendCommands } from '../fault-watch.ts';
import { describeCommand, FAULT_USAGE, parseFault } from '../faults.ts';

const words = process.argv.slice(2);
if (words.length === 0 || words[0] === '--help') {
  console.log(`Usage: npm run demo:fault -- <fault>\n${FAULT_USAGE.replace(/^/gm, '  ')}`);
  process.exit(words.length === 0 ? 2 : 0);
}
let commands;
try {
  commands = parseFault(words);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
try {
  await sendCommands(new Kafka({ clientId: 'demo-fault', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } }), commands);
} catch (error) {
  console.error(`could not reach Kafka at ${brokers.join(',')} (${(error as Error).message}); is the demo running?`);
  process.exit(1);
}
console.log(commands.length === 1 ? `sent: ${describeCommand(commands[0]!)}` : `sent: every switch off`);
