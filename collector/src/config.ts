/**
 * The collector's configuration from command-line flags and environment variables (a flag wins over
 * its variable). The only module that reads either. A setting left unset is left undefined here, so
 * the default of the part it configures applies (see ServerOptions and GroupCommitOptions); but the
 * log level, which is `info` for the CLI while `buildServer` alone logs nothing.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Receiver } from './alerting/alert-sender.ts';
import { readConfigFile, type FileConfig } from './config-file.ts';
import { isValidToken } from './ops/auth.ts';
import { LOG_LEVELS, type LogLevel } from './ops/logging.ts';
import { DEFAULT_BUSINESS_KEY_ATTRIBUTES } from './core/business-key.ts';
import { DEFAULT_MAX_FLOW_SPANS, DEFAULT_ORPHAN_AFTER_MS } from './core/describe-flow.ts';
import { DEFAULT_COMMIT_TIMEOUT_MS } from './ingest/commit-budget.ts';
import { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_SPANS_PER_REQUEST, DEFAULT_REQUEST_TIMEOUT_MS } from './server.ts';
import { DEFAULT_MAX_ITEMS_PER_COMMIT, DEFAULT_MAX_QUEUED_ITEMS } from './store/group-commit.ts';

export interface CollectorConfig {
  host: string;
  port: number;
  dataDir: string;
  /** postgres://…: the span store is PostgreSQL there, and dataDir unused. Unset: PGlite in dataDir. */
  databaseUrl: string | undefined;
  maxBodyBytes: number | undefined;
  maxSpansPerRequest: number | undefined;
  requestTimeoutMs: number | undefined;
  headersTimeoutMs: number | undefined;
  maxQueuedSpans: number | undefined;
  maxSpansPerCommit: number | undefined;
  commitTimeoutMs: number | undefined;
  /** Spans older than this are deleted in the background; 0 keeps them for ever. */
  retentionHours: number;
  logLevel: LogLevel;
  /** From --ingest-token and the lines of --ingest-token-file; empty: ingest is open. */
  ingestTokens: string[];
  /** From --api-token and the lines of --api-token-file; empty: the API is open. */
  apiTokens: string[];
  forwardUrl: string | undefined;
  forwardHeaders: Record<string, string>;
  forwardTimeoutMs: number | undefined;
  /** Span attributes read for the business key, first found wins; undefined: the default pair. */
  businessKeyAttributes: string[] | undefined;
  /** False: this collector neither queues spans for flow assembly nor assembles (every collector on a database must agree). */
  flows: boolean;
  orphanAfterMs: number | undefined;
  maxFlowSpans: number | undefined;
  /** Where alert notifications go: each --alert-webhook, --alertmanager-url and --slack-webhook given. */
  alertReceivers: Receiver[];
  /** The dashboard's address as people reach it, for links in notifications. */
  publicUrl: string | undefined;
  /** How late spans reach the collector after they end; every stall deadline allows for it. */
  exportDelayMs: number | undefined;
  /** The deadline of a step not learned yet (late after it, stalled after twice it). */
  defaultDeadlineMs: number | undefined;
  /** A flow quiet this long has settled: the model learns from it then. */
  settleAfterMs: number | undefined;
  /** An alert resolves this long after its last stuck flow moved on. */
  alertResolveAfterMs: number | undefined;
  /** What --config declares: terminal events, step deadlines, and the settings only the file gives. */
  declared: Pick<FileConfig, 'terminals' | 'steps'>;
  tuning: {
    lateFactor: number | undefined;
    stallFactor: number | undefined;
    minSamples: number | undefined;
    /** Handlings a consumer group needs before one that ends without sending is a stall (model.ts). */
    sendEvidenceMinSamples: number | undefined;
    /** Handlings compared before a consumer group is taken to read its partitions in order (core/partition-progress.ts). */
    inOrderMinSamples: number | undefined;
    alertMinFlows: number | undefined;
    failedWindowMs: number | undefined;
    maxStuckMs: number | undefined;
    anomalyWindowMs: number | undefined;
    consumerGoneAfterMs: number | undefined;
    consumerGoneMinEvents: number | undefined;
    consumerRetiredAfterMs: number | undefined;
  };
}

export type ConfigResult = { kind: 'config'; config: CollectorConfig } | { kind: 'help' } | { kind: 'error'; message: string };

export const DEFAULT_HOST = '127.0.0.1';
/** OTLP/HTTP's default port. */
export const DEFAULT_PORT = 4318;
export const DEFAULT_DATA_DIR = '.data/collector';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_RETENTION_HOURS = 168;

interface Setting {
  flag: string;
  env: string;
  shown: string;
  help: string;
  /** The flag may be given several times; its variable holds the values separated by spaces. */
  multiple?: true;
}

const SETTINGS = {
  config: { flag: 'config', env: 'CHOREOSCOPE_CONFIG', shown: 'none', help: 'a choreoscope.yaml: declared steps and terminals, stall and alert settings' },
  host: { flag: 'host', env: 'CHOREOSCOPE_HOST', shown: DEFAULT_HOST, help: 'interface to listen on' },
  port: { flag: 'port', env: 'CHOREOSCOPE_PORT', shown: String(DEFAULT_PORT), help: 'TCP port; 0 picks a free one' },
  dataDir: { flag: 'data-dir', env: 'CHOREOSCOPE_DATA_DIR', shown: DEFAULT_DATA_DIR, help: 'where the span store keeps its files' },
  databaseUrl: { flag: 'database-url', env: 'CHOREOSCOPE_DATABASE_URL', shown: 'none: PGlite in the data dir', help: 'postgres:// URL: store spans in PostgreSQL' },
  maxBodyBytes: { flag: 'max-body-bytes', env: 'CHOREOSCOPE_MAX_BODY_BYTES', shown: String(DEFAULT_MAX_BODY_BYTES), help: 'largest OTLP body, after decompression' },
  maxSpansPerRequest: { flag: 'max-spans-per-request', env: 'CHOREOSCOPE_MAX_SPANS_PER_REQUEST', shown: String(DEFAULT_MAX_SPANS_PER_REQUEST), help: 'most spans in one export; more is a 413' },
  requestTimeoutMs: { flag: 'request-timeout-ms', env: 'CHOREOSCOPE_REQUEST_TIMEOUT_MS', shown: String(DEFAULT_REQUEST_TIMEOUT_MS), help: 'a request (headers and body) still arriving after it: 408, closed' },
  headersTimeoutMs: { flag: 'headers-timeout-ms', env: 'CHOREOSCOPE_HEADERS_TIMEOUT_MS', shown: String(DEFAULT_HEADERS_TIMEOUT_MS), help: 'the same for the headers alone' },
  maxQueuedSpans: { flag: 'max-queued-spans', env: 'CHOREOSCOPE_MAX_QUEUED_SPANS', shown: String(DEFAULT_MAX_QUEUED_ITEMS), help: 'spans waiting for a commit before ingest answers 429' },
  maxSpansPerCommit: { flag: 'max-spans-per-commit', env: 'CHOREOSCOPE_MAX_SPANS_PER_COMMIT', shown: String(DEFAULT_MAX_ITEMS_PER_COMMIT), help: 'spans written per transaction' },
  commitTimeoutMs: { flag: 'commit-timeout-ms', env: 'CHOREOSCOPE_COMMIT_TIMEOUT_MS', shown: String(DEFAULT_COMMIT_TIMEOUT_MS), help: 'an export not committed within it: 503, Retry-After' },
  retentionHours: { flag: 'retention-hours', env: 'CHOREOSCOPE_RETENTION_HOURS', shown: String(DEFAULT_RETENTION_HOURS), help: 'delete spans older than this; 0 keeps them' },
  logLevel: { flag: 'log-level', env: 'CHOREOSCOPE_LOG_LEVEL', shown: DEFAULT_LOG_LEVEL, help: `log at this level: ${LOG_LEVELS.join(', ')}` },
  ingestToken: { flag: 'ingest-token', env: 'CHOREOSCOPE_INGEST_TOKEN', shown: 'none', help: 'bearer token /v1/traces requires' },
  ingestTokenFile: { flag: 'ingest-token-file', env: 'CHOREOSCOPE_INGEST_TOKEN_FILE', shown: 'none', help: 'file of ingest tokens, one a line' },
  apiToken: { flag: 'api-token', env: 'CHOREOSCOPE_API_TOKEN', shown: 'none', help: 'bearer token /api (and the dashboard) requires' },
  apiTokenFile: { flag: 'api-token-file', env: 'CHOREOSCOPE_API_TOKEN_FILE', shown: 'none', help: 'file of API tokens, one a line' },
  forwardUrl: { flag: 'forward-url', env: 'CHOREOSCOPE_FORWARD_URL', shown: 'none', help: 'OTLP/HTTP traces URL each stored export is sent on to' },
  forwardHeader: { flag: 'forward-header', env: 'CHOREOSCOPE_FORWARD_HEADER', shown: 'none', help: 'headers sent with it: name=value,... (values %-encoded)' },
  forwardTimeoutMs: { flag: 'forward-timeout-ms', env: 'CHOREOSCOPE_FORWARD_TIMEOUT_MS', shown: '10000', help: 'one forward attempt\'s time limit' },
  businessKeyAttributes: {
    flag: 'business-key-attributes', env: 'CHOREOSCOPE_BUSINESS_KEY_ATTRIBUTES', shown: DEFAULT_BUSINESS_KEY_ATTRIBUTES.join(','),
    help: 'span attributes holding the business key, first found wins: a,b,...',
  },
  flows: { flag: 'flows', env: 'CHOREOSCOPE_FLOWS', shown: 'on', help: 'assemble business flows: on or off (all collectors on a database alike)' },
  orphanAfterMs: { flag: 'orphan-after-ms', env: 'CHOREOSCOPE_ORPHAN_AFTER_MS', shown: String(DEFAULT_ORPHAN_AFTER_MS), help: 'an event no consumer handled this long after it was sent is an orphan' },
  maxFlowSpans: { flag: 'max-flow-spans', env: 'CHOREOSCOPE_MAX_FLOW_SPANS', shown: String(DEFAULT_MAX_FLOW_SPANS), help: 'most spans of a flow described; more are counted' },
  exportDelayMs: { flag: 'export-delay-ms', env: 'CHOREOSCOPE_EXPORT_DELAY_MS', shown: '10000', help: 'how late spans arrive after they end; stall deadlines allow for it' },
  defaultDeadlineMs: { flag: 'default-deadline-ms', env: 'CHOREOSCOPE_DEFAULT_DEADLINE_MS', shown: '60000', help: 'a step not learned yet is late after it, stalled after twice it' },
  settleAfterMs: { flag: 'settle-after-ms', env: 'CHOREOSCOPE_SETTLE_AFTER_MS', shown: '300000', help: 'a flow quiet this long has settled: the model learns from it' },
  alertWebhook: { flag: 'alert-webhook', env: 'CHOREOSCOPE_ALERT_WEBHOOK', shown: 'none', help: 'URL alerts are POSTed to as JSON (repeatable)', multiple: true },
  alertmanagerUrl: { flag: 'alertmanager-url', env: 'CHOREOSCOPE_ALERTMANAGER_URL', shown: 'none', help: 'Alertmanager (http://host:9093) alerts are sent to (repeatable)', multiple: true },
  slackWebhook: { flag: 'slack-webhook', env: 'CHOREOSCOPE_SLACK_WEBHOOK', shown: 'none', help: 'Slack incoming-webhook URL alerts are posted to (repeatable)', multiple: true },
  publicUrl: { flag: 'public-url', env: 'CHOREOSCOPE_PUBLIC_URL', shown: 'none', help: 'the dashboard\'s address as people reach it, for links in alerts' },
  alertResolveAfterMs: { flag: 'alert-resolve-after-ms', env: 'CHOREOSCOPE_ALERT_RESOLVE_AFTER_MS', shown: '60000', help: 'an alert resolves this long after its last stuck flow moved on' },
} satisfies Record<string, Setting>;

export const USAGE = [
  'Usage: choreoscope [--port 4318] [--host 127.0.0.1] [--data-dir DIR] [options]',
  '',
  'Runs the Choreoscope collector: OTLP/HTTP traces in on POST /v1/traces, the query API on /api.',
  ...Object.values(SETTINGS).map((s) => `  --${s.flag.padEnd(24)}${s.env.padEnd(36)}${s.help} (default ${s.shown})`),
  `  --${'help'.padEnd(24)}${''.padEnd(36)}this text`,
].join('\n');

export function readConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigResult {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.values(SETTINGS).map((s: Setting) => [s.flag, { type: 'string' as const, multiple: s.multiple === true }]));
    ({ values } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };

  const raw = (setting: Setting): string | undefined => {
    const flag = values[setting.flag];
    return typeof flag === 'string' ? flag : env[setting.env] || undefined;
  };
  const all = (setting: Setting): string[] => {
    const flags = values[setting.flag];
    if (Array.isArray(flags)) return flags;
    return (env[setting.env] ?? '').split(/\s+/).filter((value) => value !== '');
  };
  try {
    const logLevel = raw(SETTINGS.logLevel);
    if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as LogLevel)) {
      throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${logLevel}`);
    }
    const forwardUrl = raw(SETTINGS.forwardUrl);
    const forwardHeader = raw(SETTINGS.forwardHeader);
    if (forwardUrl !== undefined) checkForwardUrl(forwardUrl);
    if (forwardHeader !== undefined && forwardUrl === undefined) throw new Error('--forward-header is given without --forward-url');
    const forwardTimeoutMs = integer(SETTINGS.forwardTimeoutMs, raw(SETTINGS.forwardTimeoutMs), 1);
    const flows = raw(SETTINGS.flows);
    if (flows !== undefined && flows !== 'on' && flows !== 'off') throw new Error(`--flows (CHOREOSCOPE_FLOWS) must be on or off, not ${flows}`);
    if (forwardTimeoutMs !== undefined && forwardUrl === undefined) throw new Error('--forward-timeout-ms is given without --forward-url');
    const configPath = raw(SETTINGS.config);
    const file = configPath === undefined ? undefined : readConfigFile(configPath);
    return {
      kind: 'config',
      config: {
        host: raw(SETTINGS.host) ?? DEFAULT_HOST,
        port: integer(SETTINGS.port, raw(SETTINGS.port), 0, 65_535) ?? DEFAULT_PORT,
        dataDir: raw(SETTINGS.dataDir) ?? DEFAULT_DATA_DIR,
        databaseUrl: postgresUrl(raw(SETTINGS.databaseUrl)),
        maxBodyBytes: integer(SETTINGS.maxBodyBytes, raw(SETTINGS.maxBodyBytes), 1),
        maxSpansPerRequest: integer(SETTINGS.maxSpansPerRequest, raw(SETTINGS.maxSpansPerRequest), 1),
        requestTimeoutMs: integer(SETTINGS.requestTimeoutMs, raw(SETTINGS.requestTimeoutMs), 1),
        headersTimeoutMs: integer(SETTINGS.headersTimeoutMs, raw(SETTINGS.headersTimeoutMs), 1),
        maxQueuedSpans: integer(SETTINGS.maxQueuedSpans, raw(SETTINGS.maxQueuedSpans), 1),
        maxSpansPerCommit: integer(SETTINGS.maxSpansPerCommit, raw(SETTINGS.maxSpansPerCommit), 1),
        commitTimeoutMs: integer(SETTINGS.commitTimeoutMs, raw(SETTINGS.commitTimeoutMs), 1),
        retentionHours: integer(SETTINGS.retentionHours, raw(SETTINGS.retentionHours), 0, 87_600) ?? DEFAULT_RETENTION_HOURS,
        logLevel: (logLevel as LogLevel | undefined) ?? DEFAULT_LOG_LEVEL,
        ingestTokens: tokens(SETTINGS.ingestToken, raw(SETTINGS.ingestToken), SETTINGS.ingestTokenFile, raw(SETTINGS.ingestTokenFile)),
        apiTokens: tokens(SETTINGS.apiToken, raw(SETTINGS.apiToken), SETTINGS.apiTokenFile, raw(SETTINGS.apiTokenFile)),
        forwardUrl,
        forwardHeaders: forwardHeader === undefined ? {} : headerList(forwardHeader),
        forwardTimeoutMs,
        businessKeyAttributes: attributeList(raw(SETTINGS.businessKeyAttributes)),
        flows: flows !== 'off',
        orphanAfterMs: integer(SETTINGS.orphanAfterMs, raw(SETTINGS.orphanAfterMs), 1),
        maxFlowSpans: integer(SETTINGS.maxFlowSpans, raw(SETTINGS.maxFlowSpans), 1, 1_000_000),
        alertReceivers: [
          ...(file?.alerts.receivers.map((r) => (r.kind === 'alertmanager' ? { ...r, url: alertmanagerAlertsUrl(r.url) } : r)) ?? []),
          ...all(SETTINGS.alertWebhook).map((url) => ({ kind: 'webhook' as const, url: httpUrl(SETTINGS.alertWebhook, url) })),
          ...all(SETTINGS.alertmanagerUrl).map((url) => ({ kind: 'alertmanager' as const, url: alertmanagerAlertsUrl(httpUrl(SETTINGS.alertmanagerUrl, url)) })),
          ...all(SETTINGS.slackWebhook).map((url) => ({ kind: 'slack' as const, url: httpUrl(SETTINGS.slackWebhook, url) })),
        ],
        publicUrl: optional(raw(SETTINGS.publicUrl), (url) => httpUrl(SETTINGS.publicUrl, url)) ?? file?.alerts.publicUrl,
        exportDelayMs: integer(SETTINGS.exportDelayMs, raw(SETTINGS.exportDelayMs), 0, 86_400_000) ?? file?.stalls.exportDelayMs,
        defaultDeadlineMs: integer(SETTINGS.defaultDeadlineMs, raw(SETTINGS.defaultDeadlineMs), 1, 30 * 86_400_000) ?? file?.stalls.defaultDeadlineMs,
        settleAfterMs: integer(SETTINGS.settleAfterMs, raw(SETTINGS.settleAfterMs), 0, 7 * 86_400_000) ?? file?.stalls.settleAfterMs,
        alertResolveAfterMs: integer(SETTINGS.alertResolveAfterMs, raw(SETTINGS.alertResolveAfterMs), 0, 86_400_000) ?? file?.alerts.resolveAfterMs,
        declared: { terminals: file?.terminals ?? {}, steps: file?.steps ?? [] },
        tuning: {
          lateFactor: file?.stalls.lateFactor, stallFactor: file?.stalls.stallFactor, minSamples: file?.stalls.minSamples,
          sendEvidenceMinSamples: file?.stalls.sendEvidenceMinSamples, inOrderMinSamples: file?.stalls.inOrderMinSamples, alertMinFlows: file?.alerts.minFlows, failedWindowMs: file?.alerts.failedWindowMs, maxStuckMs: file?.alerts.maxStuckMs,
          anomalyWindowMs: file?.alerts.anomalyWindowMs, consumerGoneAfterMs: file?.alerts.consumerGoneAfterMs,
          consumerGoneMinEvents: file?.alerts.consumerGoneMinEvents, consumerRetiredAfterMs: file?.alerts.consumerRetiredAfterMs,
        },
      },
    };
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
}

function postgresUrl(text: string | undefined): string | undefined {
  if (text === undefined || /^postgres(ql)?:\/\/./.test(text)) return text;
  throw new Error('--database-url (CHOREOSCOPE_DATABASE_URL) must be a postgres:// or postgresql:// URL');
}

function integer(setting: Setting, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new Error(`--${setting.flag} (${setting.env}) must be an integer from ${min} to ${max}, not ${text}`);
  }
  return value;
}

/** The token given and those in the file (one a line; several let a token be rotated). Errors never show a token. */
function tokens(setting: Setting, token: string | undefined, fileSetting: Setting, path: string | undefined): string[] {
  const found = token === undefined ? [] : [token];
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`--${fileSetting.flag} (${fileSetting.env}): cannot read ${path}: ${(error as Error).message}`);
    }
    const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
    if (lines.length === 0) throw new Error(`--${fileSetting.flag} (${fileSetting.env}): ${path} holds no token`);
    found.push(...lines);
  }
  if (found.some((t) => !isValidToken(t))) {
    throw new Error(`--${setting.flag} (${setting.env}, or its file): a token is letters, digits and - . _ ~ + / (then = padding), nothing else`);
  }
  return found;
}

/** `a,b,c`: attribute names, none empty. */
function attributeList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === '' || name.length > 256)) {
    throw new Error('--business-key-attributes (CHOREOSCOPE_BUSINESS_KEY_ATTRIBUTES) must be attribute names separated by commas, e.g. order.id,messaging.kafka.message.key');
  }
  return names;
}

function optional<T>(text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text);
}

/** An http(s) URL, as given; the flag is named when it is not one. */
function httpUrl(setting: Setting, text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || !/^https?:$/.test(url.protocol)) throw new Error(`--${setting.flag} (${setting.env}) must be an http:// or https:// URL, not ${text.slice(0, 80)}`);
  return text;
}

/** Alertmanager's address, or its alerts endpoint: the endpoint alerts are POSTed to. */
function alertmanagerAlertsUrl(text: string): string {
  return /\/api\/v2\/alerts\/?$/.test(text) ? text : `${text.replace(/\/+$/, '')}/api/v2/alerts`;
}

function checkForwardUrl(text: string): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || !/^https?:$/.test(url.protocol) || url.username !== '' || url.password !== '') {
    throw new Error('--forward-url (CHOREOSCOPE_FORWARD_URL) must be an http:// or https:// URL without user:password (put credentials in --forward-header)');
  }
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** OTEL_EXPORTER_OTLP_HEADERS's format: `name=value` pairs separated by commas, values percent-encoded. */
function headerList(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const equals = pair.indexOf('=');
    const name = pair.slice(0, Math.max(equals, 0)).trim().toLowerCase();
    let value: string | undefined;
    try {
      value = decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      value = undefined;
    }
    if (!HEADER_NAME.test(name) || value === undefined || !HEADER_VALUE.test(value)) {
      throw new Error('--forward-header (CHOREOSCOPE_FORWARD_HEADER) must be name=value pairs separated by commas, e.g. authorization=Bearer%20abc');
    }
    headers[name] = value;
  }
  return headers;
}
