/** How to start a broker; every field is optional. */
export interface BrokerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Host name put in Metadata responses; default: `host`. Set it when clients reach the broker by another name. */
  advertisedHost?: string;
  /** Keep logs and committed offsets here across restarts; in memory when absent. */
  dataDir?: string;
  /** Partitions of an auto-created topic (`num.partitions`). Default 1. */
  defaultPartitions?: number;
  /** Create a topic on first use, as `auto.create.topics.enable`. Default true. */
  autoCreateTopics?: boolean;
  /** Bounds on a consumer's session timeout (`group.min/max.session.timeout.ms`). Defaults 6000 and 1800000. */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** `group.initial.rebalance.delay.ms`. Default 0: a group's first member starts consuming at once. */
  initialRebalanceDelayMs?: number;
  /** Largest request frame accepted (`socket.request.max.bytes`). Default 100 MiB. */
  maxRequestBytes?: number;
  /** Where log lines go. Default: stderr with a `[embedded-kafka]` prefix; pass `() => {}` for silence. */
  log?: (line: string) => void;
}

export type ResolvedBrokerOptions = Required<Omit<BrokerOptions, 'dataDir'>> & { dataDir: string | undefined };

export function resolveOptions(options: BrokerOptions): ResolvedBrokerOptions {
  const host = options.host ?? '127.0.0.1';
  return {
    port: options.port ?? 0,
    host,
    advertisedHost: options.advertisedHost ?? host,
    dataDir: options.dataDir,
    defaultPartitions: options.defaultPartitions ?? 1,
    autoCreateTopics: options.autoCreateTopics ?? true,
    minSessionTimeoutMs: options.minSessionTimeoutMs ?? 6_000,
    maxSessionTimeoutMs: options.maxSessionTimeoutMs ?? 1_800_000,
    initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? 0,
    maxRequestBytes: options.maxRequestBytes ?? 100 * 1024 * 1024,
    log: options.log ?? ((line) => process.stderr.write(`[embedded-kafka] ${line}\n`)),
  };
}
