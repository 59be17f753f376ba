/**
 * The configuration file (`--config choreoscope.yaml`): a full file read into settings (durations in
 * milliseconds, receivers, declared steps and terminals), every kind of mistake answered with the file,
 * the setting and what it should be, flags winning over the file, and the CLI started with a file: an order
 * waiting on a declared step stalls at its declared deadline, before anything is learned, and alerts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertsResponse, FlowsResponse } from '../src/api/types.ts';
import { parseConfigFile } from '../src/config-file.ts';
import { readConfig } from '../src/config.ts';
import { freshDataDir, makeTempDir, removeDir, send, spawnCollector, waitFor } from './helpers.ts';
import { postSeeds } from './seed-spans.ts';

const FULL = `
# the order choreography
version: 1
choreography:
  terminals:
    ShipmentScheduled: completed
    OrderCancelled: compensated
  steps:
    - after: OrderCreated
      expect: [PaymentAuthorized, PaymentFailed]
      lateAfter: 30s
      stalledAfter: 2m
    - after: OrderCreated
      consumerGroup: notification
      lateAfter: 1500ms
stalls:
  defaultDeadline: 90s
  lateFactor: 1.2
  stallFactor: 2
  exportDelay: 5000
  settleAfter: 10m
  minSamples: 50
  sendEvidenceMinSamples: 5000
  inOrderMinSamples: 2000
alerts:
  minFlows: 3
  resolveAfter: 2m
  failedWindow: 1h
  maxStuck: 1d
  anomalyWindow: 30m
  consumerGoneAfter: 20m
  consumerGoneMinEvents: 50
  consumerRetiredAfter: 2d
  publicUrl: https://choreoscope.example.com
  webhooks: [https://hooks.example.com/choreoscope]
  alertmanagers: [http://alertmanager:9093]
  slack: [https://hooks.slack.com/services/T/B/x]
`;

test('a full file: durations in milliseconds, declared steps and terminals, receivers', () => {
  assert.deepEqual(parseConfigFile(FULL, 'choreoscope.yaml'), {
    terminals: { ShipmentScheduled: 'completed', OrderCancelled: 'compensated' },
    steps: [
      { afterEventType: 'OrderCreated', consumerGroup: null, expect: ['PaymentAuthorized', 'PaymentFailed'], lateAfterMs: 30_000, stalledAfterMs: 120_000 },
      { afterEventType: 'OrderCreated', consumerGroup: 'notification', expect: [], lateAfterMs: 1_500, stalledAfterMs: 3_000 },
    ],
    stalls: { defaultDeadlineMs: 90_000, lateFactor: 1.2, stallFactor: 2, exportDelayMs: 5_000, settleAfterMs: 600_000, minSamples: 50, sendEvidenceMinSamples: 5_000, inOrderMinSamples: 2_000 },
    alerts: {
      minFlows: 3, resolveAfterMs: 120_000, failedWindowMs: 3_600_000, maxStuckMs: 86_400_000, anomalyWindowMs: 1_800_000,
      consumerGoneAfterMs: 1_200_000, consumerGoneMinEvents: 50, consumerRetiredAfterMs: 172_800_000, publicUrl: 'https://choreoscope.example.com',
      receivers: [
        { kind: 'webhook', url: 'https://hooks.example.com/choreoscope' }, { kind: 'alertmanager', url: 'http://alertmanager:9093' },
        { kind: 'slack', url: 'https://hooks.slack.com/services/T/B/x' },
      ],
    },
  });
  assert.deepEqual(parseConfigFile('', 'empty.yaml').steps, [], 'an empty file is no setting');
});

test('each mistake is named with the file, the setting and what it should be', () => {
  const cases: [string, RegExp][] = [
    ['stalls: {defaultDeadline: soon}', /^c\.yaml: stalls\.defaultDeadline must be a duration: 250ms, 30s, 5m, 2h, 1d, or a number of milliseconds$/],
    ['stalls: {deadline: 30s}', /^c\.yaml: stalls: unknown setting "deadline"$/],
    ['alert: {}', /^c\.yaml: unknown setting "alert"$/],
    ['choreography: {terminals: {OrderCancelled: cancelled}}', /^c\.yaml: choreography\.terminals\.OrderCancelled must be one of completed, compensated$/],
    ['choreography: {steps: [{after: OrderCreated}]}', /^c\.yaml: choreography\.steps\[0\]: "lateAfter" is required$/],
    ['choreography: {steps: [{after: OrderCreated, lateAfter: 1m, stalledAfter: 30s}]}', /^c\.yaml: choreography\.steps\[0\]\.stalledAfter must not be shorter than its lateAfter$/],
    ['choreography: {steps: [{after: A, lateAfter: 1s, consumerGroup: g, expect: [B]}]}', /awaits either a consumer group or the next events/],
    ['choreography: {steps: [{after: A, lateAfter: 1s}, {after: A, lateAfter: 2s}]}', /^c\.yaml: choreography\.steps\[1\] declares the step after A again$/],
    ['alerts: {webhooks: [hooks.example.com]}', /^c\.yaml: alerts\.webhooks\[0\] must be an http:\/\/ or https:\/\/ URL$/],
    ['alerts: {minFlows: 0}', /^c\.yaml: alerts\.minFlows must be >= 1$/],
    ['stalls: {lateFactor: -1}', /^c\.yaml: stalls\.lateFactor must be > 0$/],
    ['version: 2', /^c\.yaml: version must be 1$/],
    ['- just a list', /^c\.yaml: the file must be object$/],
    ['stalls: {exportDelay: 1s}\nstalls: {exportDelay: 2s}', /^c\.yaml \(line 2\): not YAML: /],
    ['stalls: [', /^c\.yaml \(line \d\): not YAML: /],
  ];
  for (const [text, expected] of cases) assert.throws(() => parseConfigFile(text, 'c.yaml'), (error: Error) => expected.test(error.message), text);
});

test('--config: the file fills what flags and environment variables leave unset', () => {
  const dir = makeTempDir();
  try {
    const path = join(dir, 'choreoscope.yaml');
    writeFileSync(path, FULL);
    const result = readConfig(['--config', path, '--export-delay-ms', '0', '--alert-webhook', 'http://127.0.0.1:9/extra'], {});
    assert.equal(result.kind, 'config');
    if (result.kind !== 'config') return;
    const { config } = result;
    assert.deepEqual([config.exportDelayMs, config.defaultDeadlineMs, config.settleAfterMs, config.alertResolveAfterMs, config.publicUrl],
      [0, 90_000, 600_000, 120_000, 'https://choreoscope.example.com'], 'a flag wins, the file fills the rest');
    assert.deepEqual(config.alertReceivers.map((r) => [r.kind, r.url]), [
      ['webhook', 'https://hooks.example.com/choreoscope'], ['alertmanager', 'http://alertmanager:9093/api/v2/alerts'],
      ['slack', 'https://hooks.slack.com/services/T/B/x'], ['webhook', 'http://127.0.0.1:9/extra'],
    ], 'receivers of both');
    assert.equal(config.declared.steps.length, 2);
    assert.deepEqual(config.tuning, {
      lateFactor: 1.2, stallFactor: 2, minSamples: 50, sendEvidenceMinSamples: 5_000, inOrderMinSamples: 2_000, alertMinFlows: 3, failedWindowMs: 3_600_000, maxStuckMs: 86_400_000, anomalyWindowMs: 1_800_000,
      consumerGoneAfterMs: 1_200_000, consumerGoneMinEvents: 50, consumerRetiredAfterMs: 172_800_000,
    });
    const missing = readConfig([], { CHOREOSCOPE_CONFIG: join(dir, 'nope.yaml') });
    assert.match(missing.kind === 'error' ? missing.message : '', /^--config: cannot read .*nope\.yaml: ENOENT/);
  } finally {
    removeDir(dir);
  }
});

test('the CLI with a file: an order waiting on a declared step stalls at its deadline, before anything is learned, and alerts', async () => {
  const dir = makeTempDir();
  const dataDir = await freshDataDir();
  const path = join(dir, 'choreoscope.yaml');
  writeFileSync(path, 'choreography:\n  steps:\n    - after: OrderCreated\n      expect: [PaymentAuthorized]\n      lateAfter: 1s\n      stalledAfter: 2s\nstalls:\n  exportDelay: 0\n');
  const collector = await spawnCollector(['--data-dir', dataDir, '--config', path, '--log-level', 'warn']);
  try {
    await postSeeds(collector.url, [{
      service: 'order', name: 'orders publish', kind: 4, startMs: Date.now(), durationMs: 5, businessKey: 'order-1',
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'choreoscope.event.type': 'OrderCreated' },
    }]);
    let flows: FlowsResponse['flows'] = [];
    await waitFor(async () => {
      flows = ((await send(`${collector.url}/api/flows?state=stalled`, {})).json as FlowsResponse).flows;
      return flows.length === 1;
    }, 15_000, () => 'stalled at the declared deadline');
    const explanation = flows[0]!.explanation!;
    assert.deepEqual(explanation.kind === 'next-event' && [explanation.awaitedEventTypes, explanation.declared, explanation.learned], [['PaymentAuthorized'], true, false]);
    await waitFor(async () => ((await send(`${collector.url}/api/alerts`, {})).json as AlertsResponse).alerts.length === 1, 10_000, () => 'alerted');
    const [alert] = ((await send(`${collector.url}/api/alerts`, {})).json as AlertsResponse).alerts;
    assert.equal(alert!.title, '1 flow waiting for PaymentAuthorized from an unknown service');
  } finally {
    collector.child.kill('SIGTERM');
    await collector.exited;
    removeDir(dir);
    removeDir(dataDir);
  }
});
