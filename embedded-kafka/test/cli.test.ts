import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

const bin = fileURLToPath(new URL('../bin/embedded-kafka.mjs', import.meta.url));

test('the CLI prints where it listens, serves clients there, and exits cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, [bin, '--port', '0', '--partitions', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (text: string) => {
      stdout += text;
      const match = /listening on (\S+:\d+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code} before listening: ${stdout}`)));
  });
  assert.match(stdout, /\(in memory\)/);

  const admin = new Kafka({ brokers: [address], clientId: 'cli-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'auto-count' }] }); // numPartitions -1: the CLI's --partitions
  const metadata = await admin.fetchTopicMetadata({ topics: ['auto-count'] });
  assert.equal(metadata.topics[0]!.partitions.length, 2);
  await admin.disconnect();

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('the CLI refuses a bad port with a usage message and exit code 2', async () => {
  const child = spawn(process.execPath, [bin, '--port', 'ninety'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.match(stderr, /--port must be 0-65535, not ninety/);
  assert.match(stderr, /Usage: embedded-kafka/);
});
