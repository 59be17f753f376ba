/**
 * The optional configuration file (`--config choreoscope.yaml`, YAML or JSON): declared terminal events and
 * step deadlines, stall and alert settings, alert receivers. Validated against the schema below (also in
 * docs/configuration.md); an error names the file, the setting and what it should be. Flags and environment
 * variables win over what the file says (config.ts).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse, YAMLParseError } from 'yaml';
import type { Receiver } from './alerting/alert-sender.ts';
import type { TerminalKind } from './core/model.ts';
import type { DeclaredStep } from './core/stalls.ts';

/** What the file says, durations in milliseconds; a setting it does not give is undefined. */
export interface FileConfig {
  terminals: Record<string, TerminalKind>;
  steps: DeclaredStep[];
  stalls: {
    defaultDeadlineMs?: number;
    lateFactor?: number;
    stallFactor?: number;
    exportDelayMs?: number;
    settleAfterMs?: number;
    minSamples?: number;
    sendEvidenceMinSamples?: number;
    inOrderMinSamples?: number;
  };
  alerts: {
    minFlows?: number;
    resolveAfterMs?: number;
    failedWindowMs?: number;
    maxStuckMs?: number;
    anomalyWindowMs?: number;
    consumerGoneAfterMs?: number;
    consumerGoneMinEvents?: number;
    consumerRetiredAfterMs?: number;
    publicUrl?: string;
    receivers: Receiver[];
  };
}

/** `250ms`, `30s`, `5m`, `2h`, `1d`, or a number of milliseconds. */
const duration = {
  type: ['integer', 'string'], minimum: 0, pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$', // minimum for a number, pattern for a string
  description: 'a duration: 250ms, 30s, 5m, 2h, 1d, or milliseconds',
};
const url = { type: 'string', pattern: '^https?://.+' };
const urls = { type: 'array', items: url };
const name = { type: 'string', minLength: 1, maxLength: 512 };
const section = (properties: Record<string, object>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, required });

export const CONFIG_FILE_SCHEMA = section({
  version: { const: 1 },
  choreography: section({
    terminals: { type: 'object', propertyNames: { minLength: 1 }, additionalProperties: { enum: ['completed', 'compensated'] } },
    steps: {
      type: 'array',
      items: section({
        after: name,
        consumerGroup: name,
        expect: { type: 'array', items: name },
        lateAfter: duration,
        stalledAfter: duration,
      }, ['after', 'lateAfter']),
    },
  }),
  stalls: section({
    defaultDeadline: duration,
    lateFactor: { type: 'number', exclusiveMinimum: 0 },
    stallFactor: { type: 'number', exclusiveMinimum: 0 },
    exportDelay: duration,
    settleAfter: duration,
    minSamples: { type: 'integer', minimum: 1 },
    sendEvidenceMinSamples: { type: 'integer', minimum: 1 },
    inOrderMinSamples: { type: 'integer', minimum: 1 },
  }),
  alerts: section({
    minFlows: { type: 'integer', minimum: 1 },
    resolveAfter: duration,
    failedWindow: duration,
    maxStuck: duration,
    anomalyWindow: duration,
    consumerGoneAfter: duration,
    consumerGoneMinEvents: { type: 'integer', minimum: 1 },
    consumerRetiredAfter: duration,
    publicUrl: url,
    webhooks: urls,
    alertmanagers: urls,
    slack: urls,
  }),
});

interface RawFile {
  version?: 1;
  choreography?: {
    terminals?: Record<string, TerminalKind>;
    steps?: { after: string; consumerGroup?: string; expect?: string[]; lateAfter: number | string; stalledAfter?: number | string }[];
  };
  stalls?: { defaultDeadline?: Duration; lateFactor?: number; stallFactor?: number; exportDelay?: Duration; settleAfter?: Duration; minSamples?: number; sendEvidenceMinSamples?: number;
    inOrderMinSamples?: number;
  };
  alerts?: {
    minFlows?: number; resolveAfter?: Duration; failedWindow?: Duration; maxStuck?: Duration; anomalyWindow?: Duration;
    consumerGoneAfter?: Duration; consumerGoneMinEvents?: number; consumerRetiredAfter?: Duration; publicUrl?: string;
    webhooks?: string[]; alertmanagers?: string[]; slack?: string[];
  };
}
type Duration = number | string;

// verbose: an error carries the schema it broke, so a duration or URL is named as such whatever the rule
const validate = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, verbose: true }).compile<RawFile>(CONFIG_FILE_SCHEMA);

export function readConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`--config: cannot read ${path}: ${(error as Error).message}`);
  }
  return parseConfigFile(text, path);
}

/** The file's text as settings; `source` names it in errors. */
export function parseConfigFile(text: string, source: string): FileConfig {
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true }) ?? {};
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : '';
    throw new Error(`${source}${where}: not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!validate(raw)) throw new Error(`${source}: ${problem(validate.errors![0]!)}`);
  const file = raw;
  const steps = (file.choreography?.steps ?? []).map((step, i): DeclaredStep => {
    const lateAfterMs = ms(step.lateAfter);
    const stalledAfterMs = step.stalledAfter === undefined ? 2 * lateAfterMs : ms(step.stalledAfter);
    if (stalledAfterMs < lateAfterMs) throw new Error(`${source}: choreography.steps[${i}].stalledAfter must not be shorter than its lateAfter`);
    if (step.consumerGroup !== undefined && step.expect !== undefined) {
      throw new Error(`${source}: choreography.steps[${i}] awaits either a consumer group or the next events (expect), not both`);
    }
    return { afterEventType: step.after, consumerGroup: step.consumerGroup ?? null, expect: step.expect ?? [], lateAfterMs, stalledAfterMs };
  });
  const seen = new Set<string>();
  for (const [i, step] of steps.entries()) {
    const key = `${step.afterEventType}|${step.consumerGroup ?? ''}`;
    if (seen.has(key)) throw new Error(`${source}: choreography.steps[${i}] declares the step after ${step.afterEventType}${step.consumerGroup === null ? '' : ` for group ${step.consumerGroup}`} again`);
    seen.add(key);
  }
  const stalls = file.stalls ?? {};
  const alerts = file.alerts ?? {};
  return {
    terminals: file.choreography?.terminals ?? {},
    steps,
    stalls: {
      defaultDeadlineMs: optionalMs(stalls.defaultDeadline), lateFactor: stalls.lateFactor, stallFactor: stalls.stallFactor,
      exportDelayMs: optionalMs(stalls.exportDelay), settleAfterMs: optionalMs(stalls.settleAfter), minSamples: stalls.minSamples,
      sendEvidenceMinSamples: stalls.sendEvidenceMinSamples, inOrderMinSamples: stalls.inOrderMinSamples,
    },
    alerts: {
      minFlows: alerts.minFlows, resolveAfterMs: optionalMs(alerts.resolveAfter), failedWindowMs: optionalMs(alerts.failedWindow),
      maxStuckMs: optionalMs(alerts.maxStuck), anomalyWindowMs: optionalMs(alerts.anomalyWindow),
      consumerGoneAfterMs: optionalMs(alerts.consumerGoneAfter), consumerGoneMinEvents: alerts.consumerGoneMinEvents,
      consumerRetiredAfterMs: optionalMs(alerts.consumerRetiredAfter), publicUrl: alerts.publicUrl,
      receivers: [
        ...(alerts.webhooks ?? []).map((u) => ({ kind: 'webhook' as const, url: u })),
        ...(alerts.alertmanagers ?? []).map((u) => ({ kind: 'alertmanager' as const, url: u })),
        ...(alerts.slack ?? []).map((u) => ({ kind: 'slack' as const, url: u })),
      ],
    },
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function ms(value: Duration): number {
  if (typeof value === 'number') return value;
  const [, amount, unit] = /^([0-9.]+)([a-z]+)$/.exec(value)!;
  return Math.round(Number(amount) * UNIT_MS[unit!]!);
}

function optionalMs(value: Duration | undefined): number | undefined {
  return value === undefined ? undefined : ms(value);
}

/** One validation error as a person reads it: the setting's path, then what it should be. */
function problem(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('').replace(/^\./, '') || 'the file';
  if (error.parentSchema === duration) return `${path} must be a duration: 250ms, 30s, 5m, 2h, 1d, or a number of milliseconds`;
  if (error.parentSchema === url) return `${path} must be an http:// or https:// URL`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${path === 'the file' ? '' : `${path}: `}unknown setting "${error.params.additionalProperty}"`;
    case 'required':
      return `${path}: "${error.params.missingProperty}" is required`;
    case 'enum':
      return `${path} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${path} must be ${JSON.stringify(error.params.allowedValue)}`;
    default:
      return `${path} ${error.message ?? 'is invalid'}`;
  }
}
