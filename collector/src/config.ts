/**
 * The collector's configuration from command-line flags and environment variables (a flag wins over
 * its variable). The only module that reads either. A setting left unset is left undefined here, so
 * the default of the part it configures applies (see ServerOptions and GroupCommitOptions).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_BODY_BYTES, type LogLevel } from './server.ts';
import { DEFAULT_MAX_ITEMS_PER_COMMIT, DEFAULT_MAX_QUEUED_ITEMS } from './store/group-commit.ts';

export interface CollectorConfig {
  host: string;
  port: number;
  dataDir: string;
  maxBodyBytes: number | undefined;
  maxQueuedSpans: number | undefined;
  maxSpansPerCommit: number | undefined;
  logLevel: LogLevel | undefined;
}

export type ConfigResult = { kind: 'config'; config: CollectorConfig } | { kind: 'help' } | { kind: 'error'; message: string };

export const DEFAULT_HOST = '127.0.0.1';
/** OTLP/HTTP's default port. */
export const DEFAULT_PORT = 4318;
export const DEFAULT_DATA_DIR = '.data/collector';

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface Setting {
  flag: string;
  env: string;
  shown: string;
  help: string;
}

const SETTINGS = {
  host: { flag: 'host', env: 'CHOREOSCOPE_HOST', shown: DEFAULT_HOST, help: 'interface to listen on' },
  port: { flag: 'port', env: 'CHOREOSCOPE_PORT', shown: String(DEFAULT_PORT), help: 'TCP port; 0 picks a free one' },
  dataDir: { flag: 'data-dir', env: 'CHOREOSCOPE_DATA_DIR', shown: DEFAULT_DATA_DIR, help: 'where the span store keeps its files' },
  maxBodyBytes: { flag: 'max-body-bytes', env: 'CHOREOSCOPE_MAX_BODY_BYTES', shown: String(DEFAULT_MAX_BODY_BYTES), help: 'largest OTLP body, after decompression' },
  maxQueuedSpans: { flag: 'max-queued-spans', env: 'CHOREOSCOPE_MAX_QUEUED_SPANS', shown: String(DEFAULT_MAX_QUEUED_ITEMS), help: 'spans waiting for a commit before ingest answers 429' },
  maxSpansPerCommit: { flag: 'max-spans-per-commit', env: 'CHOREOSCOPE_MAX_SPANS_PER_COMMIT', shown: String(DEFAULT_MAX_ITEMS_PER_COMMIT), help: 'spans written per transaction' },
  logLevel: { flag: 'log-level', env: 'CHOREOSCOPE_LOG_LEVEL', shown: 'none', help: `log at this level: ${LOG_LEVELS.join(', ')}` },
} satisfies Record<string, Setting>;

export const USAGE = [
  'Usage: choreoscope [--port 4318] [--host 127.0.0.1] [--data-dir DIR] [options]',
  '',
  'Runs the Choreoscope collector: OTLP/HTTP traces in on POST /v1/traces, the query API on /api.',
  ...Object.values(SETTINGS).map((s) => `  --${s.flag.padEnd(22)}${s.env.padEnd(34)}${s.help} (default ${s.shown})`),
  `  --${'help'.padEnd(22)}${''.padEnd(34)}this text`,
].join('\n');

export function readConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]));
    ({ values } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };

  const raw = (setting: Setting): string | undefined => {
    const flag = values[setting.flag];
    return typeof flag === 'string' ? flag : env[setting.env] || undefined;
  };
  try {
    const logLevel = raw(SETTINGS.logLevel);
    if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as LogLevel)) {
      throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${logLevel}`);
    }
    return {
      kind: 'config',
      config: {
        host: raw(SETTINGS.host) ?? DEFAULT_HOST,
        port: integer(SETTINGS.port, raw(SETTINGS.port), 0, 65_535) ?? DEFAULT_PORT,
        dataDir: raw(SETTINGS.dataDir) ?? DEFAULT_DATA_DIR,
        maxBodyBytes: integer(SETTINGS.maxBodyBytes, raw(SETTINGS.maxBodyBytes), 1),
        maxQueuedSpans: integer(SETTINGS.maxQueuedSpans, raw(SETTINGS.maxQueuedSpans), 1),
        maxSpansPerCommit: integer(SETTINGS.maxSpansPerCommit, raw(SETTINGS.maxSpansPerCommit), 1),
        logLevel: logLevel as LogLevel | undefined,
      },
    };
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
}

function integer(setting: Setting, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new Error(`--${setting.flag} (${setting.env}) must be an integer from ${min} to ${max}, not ${text}`);
  }
  return value;
}
