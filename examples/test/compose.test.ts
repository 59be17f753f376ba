/**
 * docker-compose.yml cannot be run where the tests run (no Docker engine), so it is checked against the code: it parses,
 * every command runs a file that exists, each demo process runs as a service, every environment variable
 * is one the code reads with a value it accepts, and the addresses and ports agree with each other.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readConfig, USAGE } from '../../collector/src/config.ts';
import { SERVICE_PROCESSES } from '../src/demo/launch.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string | number>;
  profiles?: string[];
  depends_on?: Record<string, unknown>;
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const env = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, String(v)]));

/** The names the demo's code reads from the environment. */
function variablesReadBy(dir: string): Set<string> {
  const names = new Set<string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        for (const re of [/process\.env\.([A-Z][A-Z0-9_]+)/g, /\benv\.([A-Z][A-Z0-9_]+)/g, /FromEnv\('([A-Z][A-Z0-9_]+)'/g]) {
          for (const match of text.matchAll(re)) names.add(match[1]!);
        }
      }
    }
  };
  walk(dir);
  return names;
}
const demoVariables = variablesReadBy(join(root, 'examples', 'src'));
/** Read by the OpenTelemetry SDK or by startTracing, not by the demo's own code. */
const OTEL_VARIABLES = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_BSP_SCHEDULE_DELAY'];

function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `kafka://${url}`);
  return { host: parsed.hostname, port: Number(parsed.port) };
}
const publishedPorts = (name: string) => (services[name]?.ports ?? []).map((p) => {
  const [hostSide, containerSide] = String(p).split(':');
  return { host: Number(hostSide), container: Number(containerSide) };
});

test('the file parses and names the parts the demo has', () => {
  assert.ok(services.kafka && services.collector, 'kafka and collector services');
  for (const [name, service] of Object.entries(services)) {
    if (service.build !== undefined) assert.equal(service.build, '.', `${name} builds from the root`);
  }
  assert.ok(existsSync(join(root, 'Dockerfile')), 'the Dockerfile the services build from');
  // npm ci needs every workspace's manifest, copied before the sources so the install is cached
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  for (const workspace of workspaces) assert.ok(dockerfile.includes(`COPY ${workspace}/package.json ${workspace}/`), `the Dockerfile copies ${workspace}/package.json`);
});

test('every command runs a file that exists', () => {
  for (const [name, service] of Object.entries(services)) {
    for (const arg of service.command ?? []) {
      if (/\.(ts|mjs|js|ya?ml)$/.test(arg)) assert.ok(existsSync(join(root, arg)), `${name}: ${arg} exists`);
    }
  }
});

test('each of the demo\'s processes runs as a service, as many times as under npm run demo', () => {
  for (const { service, instances } of SERVICE_PROCESSES) {
    const file = `examples/src/services/${service}.ts`;
    const running = Object.entries(services).filter(([, s]) => s.command?.includes(file));
    assert.equal(running.length, instances, `${file}: ${instances} service(s) in docker-compose.yml`);
    if (instances > 1) {
      const names = running.map(([name]) => env(name).SERVICE_INSTANCE);
      assert.equal(new Set(names).size, instances, `${service}: each instance has its own SERVICE_INSTANCE`);
    }
  }
  assert.ok(Object.values(services).some((s) => s.command?.includes('examples/src/services/load-generator.ts')), 'the load generator');
});

test('Kafka is the official image in KRaft mode, reachable at the address the services use', () => {
  const kafka = env('kafka');
  assert.match(services.kafka!.image!, /^apache\/kafka:\d/);
  assert.ok(kafka.KAFKA_PROCESS_ROLES!.split(',').includes('controller'), 'KRaft: the broker is its own controller');
  assert.match(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS!, /^1@kafka:\d+$/);
  const listeners = new Map(kafka.KAFKA_LISTENERS!.split(',').map((l) => [l.split('://')[0]!, Number(l.split(':').at(-1))]));
  const advertised = new Map(kafka.KAFKA_ADVERTISED_LISTENERS!.split(',').map((l) => [l.split('://')[0]!, hostPort(l.split('://')[1]!)]));
  for (const [name, address] of advertised) assert.equal(address.port, listeners.get(name), `${name} is advertised on the port it listens on`);
  const inside = [...advertised.values()].filter((a) => a.host === 'kafka');
  const outside = [...advertised.values()].filter((a) => a.host === 'localhost');
  assert.equal(outside.length, 1, 'one listener for clients on the host (npm run demo:fault)');
  assert.ok(publishedPorts('kafka').some((p) => p.container === outside[0]!.port && p.host === outside[0]!.port), 'the host listener is published');
  for (const [name] of Object.entries(services).filter(([, s]) => s.command?.some((a) => a.startsWith('examples/src/services/')))) {
    const brokers = env(name).KAFKA_BROKERS;
    if (brokers === undefined) continue; // the load generator talks HTTP only
    for (const broker of brokers.split(',')) {
      const address = hostPort(broker);
      assert.ok(inside.some((a) => a.host === address.host && a.port === address.port), `${name}: KAFKA_BROKERS ${broker} is an advertised listener`);
    }
  }
});

test('the collector\'s settings are ones it accepts, on the port published and the services export to', () => {
  const collectorEnv = env('collector');
  for (const name of Object.keys(collectorEnv)) assert.ok(USAGE.includes(name), `${name} is a collector setting`);
  const command = services.collector!.command!;
  const args = command.slice(command.indexOf('collector/bin/choreoscope.mjs') + 1).map((a) => (a.endsWith('.yaml') ? join(root, a) : a));
  const result = readConfig(args, { ...collectorEnv, CHOREOSCOPE_FORWARD_URL: '' });
  assert.equal(result.kind, 'config', result.kind === 'error' ? result.message : '');
  if (result.kind !== 'config') return;
  assert.equal(result.config.host, '0.0.0.0', 'reachable from the other containers');
  assert.ok(publishedPorts('collector').some((p) => p.container === result.config.port), 'its port is published');
  // With the forward URL the comment suggests, the collector accepts it too.
  const forwarding = readConfig(args, { ...collectorEnv, CHOREOSCOPE_FORWARD_URL: 'http://jaeger:4318/v1/traces' });
  assert.equal(forwarding.kind, 'config');
  assert.ok(services.jaeger?.profiles?.includes('jaeger'), 'Jaeger runs only when asked for');
  for (const [name, service] of Object.entries(services)) {
    const endpoint = env(name).OTEL_EXPORTER_OTLP_ENDPOINT;
    if (endpoint === undefined) continue;
    const address = hostPort(endpoint);
    assert.equal(address.host, 'collector', `${name} exports to the collector`);
    assert.equal(address.port, result.config.port, `${name} exports to the collector's port`);
    assert.ok(service.depends_on && 'collector' in service.depends_on, `${name} starts after the collector`);
  }
});

test('every variable given to a service is one the code reads, with a value it accepts', () => {
  for (const [name, service] of Object.entries(services)) {
    if (!service.command?.some((a) => a.startsWith('examples/src/services/'))) continue;
    for (const [variable, value] of Object.entries(env(name))) {
      assert.ok(demoVariables.has(variable) || OTEL_VARIABLES.includes(variable), `${name}: ${variable} is read by the demo or the SDK`);
      if (/_PORT$|_PER_SECOND$|_DELAY$/.test(variable)) assert.match(value, /^\d+$/, `${name}: ${variable} is a number`);
    }
  }
  const orderUrl = hostPort(env('load-generator').ORDER_SERVICE_URL!);
  assert.equal(orderUrl.host, 'order');
  assert.equal(String(orderUrl.port), env('order').ORDER_HTTP_PORT, 'the load generator reaches the order service\'s port');
  assert.equal(env('order').ORDER_HTTP_HOST, '0.0.0.0', 'the order service listens beyond its container');
});
