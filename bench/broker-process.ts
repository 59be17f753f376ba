// The broker under benchmark, in its own process so its CPU time is measured apart from the client's.
// Speaks to the parent over IPC: sends its address once listening, answers 'cpu' with process.cpuUsage().
import { startBroker } from '@choreoscope/embedded-kafka';

const broker = await startBroker({ port: 0, log: () => {}, defaultPartitions: Number(process.env.PARTITIONS ?? 1) });
process.send!({ address: broker.address });
process.on('message', (message) => {
  if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
  if (message === 'stop') void broker.stop().then(() => process.exit(0));
});
