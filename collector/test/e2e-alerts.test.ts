/**
 * Alerts end to end: the order choreography's instrumented services, each a process of its own over the
 * embedded broker, export to the collector's CLI (a child process, so it can be killed). 25 orders teach
 * it the choreography; then five more orders are sent while payment is not running, and they stall: one
 * grouped alert reaches a real webhook receiver and an Alertmanager receiver on loopback, while a receiver
 * that answers 500 and one that never answers delay neither. The collector is SIGKILLed while the alert
 * fires and started again; payment and the rest come back, the orders complete, and the alert resolves:
 * each receiver heard it fire once and resolve once, across the kill.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '@choreoscope/embedded-kafka';
import type { AlertmanagerAlert, WebhookBody } from '../src/alerting/formats.ts';
import type { AlertResponse, AlertsResponse, ModelResponse } from '../src/api/types.ts';
import { freshDataDir, removeDir, send, spawnCollector, waitFor, type CollectorProcess } from './helpers.ts';
import { runService, type ServiceRun } from './services/run-service.ts';

/** A receiver on loopback answering each request with `answer` (which may never answer). */
async function receiver(answer: (response: ServerResponse) => void = (response) => response.end('ok')) {
  const bodies: unknown[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      answer(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

type Receiver = Awaited<ReturnType<typeof receiver>>;
let broker: RunningBroker;
let dataDir: string;
let collector: CollectorProcess | undefined;
const receivers: Receiver[] = [];
const services: ServiceRun[] = [];

before(async () => {
  broker = await startBroker({ log: () => {} });
  for (const topic of ['orders', 'payments', 'stock', 'shipments']) broker.createTopic(topic, 2);
  dataDir = await freshDataDir();
});
after(async () => {
  for (const service of services) service.kill();
  collector?.child.kill('SIGKILL');
  await collector?.exited;
  await Promise.all(receivers.map((r) => r.close()));
  await broker.stop();
  removeDir(dataDir);
});

async function getJson<T>(path: string): Promise<T> {
  const answer = await send(`${collector!.url}${path}`, {});
  assert.equal(answer.status, 200, `${path}: ${answer.text}`);
  return answer.json as T;
}

/** The services named, run to the end with these settings; orders are sent once every consumer has its partitions. */
async function run(roles: string[], env: Record<string, string>): Promise<void> {
  const start = (role: string) => runService('./choreoscope-service.ts', { BROKER: broker.address, COLLECTOR_URL: collector!.url, ...env, ROLE: role });
  const consumers = roles.filter((role) => role !== 'order').map(start);
  services.push(...consumers);
  await Promise.all(consumers.map((service) => service.ready));
  const started = [...consumers, ...roles.filter((role) => role === 'order').map(start)];
  services.push(...started.slice(consumers.length));
  await Promise.all(started.map((service) => service.done));
}

test('a paused consumer: one grouped alert reaches the webhook and Alertmanager once, survives a SIGKILL, and resolves once', async () => {
  const [webhook, alertmanager, failing, hanging] = [
    await receiver(), await receiver(),
    await receiver((response) => {
      response.statusCode = 500;
      response.end('down');
    }),
    await receiver(() => {}), // takes the request, never answers
  ];
  receivers.push(webhook, alertmanager, failing, hanging);
  const args = [
    '--data-dir', dataDir, '--log-level', 'warn', '--export-delay-ms', '6000', '--settle-after-ms', '1000', '--alert-resolve-after-ms', '2000',
    '--alert-webhook', webhook.url, '--alertmanager-url', alertmanager.url.replace(/\/hook$/, ''), '--alert-webhook', failing.url,
    '--slack-webhook', hanging.url, '--public-url', 'https://choreoscope.example',
  ];
  collector = await spawnCollector(args);

  // 25 orders through the whole choreography: the collector learns it
  await run(['payment', 'inventory', 'shipping', 'notification', 'order'], { ORDERS: '25' });
  let model: ModelResponse | undefined;
  await waitFor(async () => {
    model = await getJson<ModelResponse>('/api/model');
    return ['OrderCreated', 'PaymentAuthorized', 'StockReserved', 'ShipmentScheduled'].every((type) => model!.steps.find((s) => s.eventType === type)?.trusted);
  }, 30_000, () => `the choreography learned; now ${JSON.stringify(model?.steps.map((s) => [s.eventType, s.occurrences]))}`).catch(async (error) => {
    const flows = await getJson<{ flows: { state: string; spanCount: number; lastEventMs: number }[] }>('/api/flows?limit=100');
    throw new Error(`${(error as Error).message}\n${JSON.stringify(flows.flows.map((f) => [f.state, f.spanCount, Date.now() - f.lastEventMs]))}`);
  });
  assert.deepEqual((await getJson<AlertsResponse>('/api/alerts')).alerts, [], 'a healthy choreography fires nothing');

  // five more orders while payment is not running: they stall, as one alert
  await run(['order', 'notification'], { ORDERS: '5', FIRST_ORDER: '101', EXPECTED: '5' });
  let alerts: AlertsResponse['alerts'] = [];
  await waitFor(async () => {
    alerts = (await getJson<AlertsResponse>('/api/alerts')).alerts;
    return alerts.length > 0 && alerts[0]!.flowCount === 5;
  }, 30_000, () => `one alert for five stalled orders; now ${JSON.stringify(alerts.map((a) => [a.title, a.flowCount]))}`);
  assert.equal(alerts.length, 1, JSON.stringify(alerts.map((a) => a.title)));
  const alert = alerts[0]!;
  assert.match(alert.title, /^5 flows waiting for (payment \(group payment\) to handle OrderCreated|PaymentAuthorized from payment)$/);
  await waitFor(() => webhook.bodies.length >= 1 && alertmanager.bodies.length >= 1, 15_000, () => 'the firing notification delivered');
  assert.equal(hanging.bodies.length, 1, 'the hanging receiver holds its request: it delayed neither');
  assert.ok(failing.bodies.length >= 1, 'the failing receiver is tried, and retried');
  const fired = webhook.bodies[0] as WebhookBody;
  assert.deepEqual([fired.kind, fired.alert.id, fired.links?.alert], ['firing', alert.id, `https://choreoscope.example/#/alerts/${alert.id}`]);
  assert.deepEqual((alertmanager.bodies[0] as AlertmanagerAlert[])[0]!.labels.alertname, 'ChoreoscopeFlowsStalled');
  await waitFor(async () => {
    const { deliveries } = (await getJson<AlertResponse>(`/api/alerts/${alert.id}`)).alert;
    return deliveries.filter((d) => d.outcome === 'delivered').length === 2;
  }, 10_000, () => 'both deliveries recorded');

  // SIGKILL while it fires, and start again on the same data
  collector.child.kill('SIGKILL');
  await collector.exited;
  collector = await spawnCollector(args);
  const [after] = (await getJson<AlertsResponse>('/api/alerts')).alerts;
  assert.equal(after?.id, alert.id, 'the same alert fires after the restart');

  // payment and the rest come back: the orders complete, the alert resolves
  await run(['payment', 'inventory', 'shipping', 'notification'], { ORDERS: '5', EXPECTED: '5' });
  await waitFor(async () => (await getJson<AlertsResponse>('/api/alerts?state=resolved')).alerts.some((a) => a.id === alert.id), 30_000,
    () => 'resolved');
  await waitFor(async () => {
    const { deliveries } = (await getJson<AlertResponse>(`/api/alerts/${alert.id}`)).alert;
    return deliveries.filter((d) => d.kind === 'resolved' && d.outcome === 'delivered').length === 2;
  }, 15_000, () => 'the resolution delivered to both');
  assert.deepEqual(webhook.bodies.map((body) => [(body as WebhookBody).kind, (body as WebhookBody).alert.id]), [['firing', alert.id], ['resolved', alert.id]],
    'the webhook heard it fire once and resolve once, across the kill');
  const told = (alertmanager.bodies as AlertmanagerAlert[][]).map(([sent]) => sent!);
  assert.equal(told.filter((sent) => sent.endsAt !== undefined).length, 1, 'Alertmanager told it ended, once');
  assert.ok(told.every((sent) => sent.labels.alertname === 'ChoreoscopeFlowsStalled' && sent.annotations.choreoscope_alert_id === alert.id));
  assert.equal(told.at(-1)!.endsAt !== undefined, true, 'the last word it had was the end');
});
