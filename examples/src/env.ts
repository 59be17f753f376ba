/**
 * What a demo process reads from its environment. The same variables configure it under `npm run demo`
 * and in docker-compose.yml.
 */
export interface ServiceEnv {
  /** `KAFKA_BROKERS`: comma-separated host:port list. */
  brokers: string[];
  /** `SERVICE_INSTANCE`: this process among a service's instances (`payment-2`); default the service name. */
  instance: string;
  /** `CHOREOSCOPE_INGEST_TOKEN`: the collector's ingest token, sent as a bearer token; none by default. */
  ingestToken: string | undefined;
}

export function readServiceEnv(service: string, env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  const brokers = (env.KAFKA_BROKERS ?? 'localhost:9092').split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS is empty: give host:port[,host:port…]');
  return { brokers, instance: env.SERVICE_INSTANCE || service, ingestToken: env.CHOREOSCOPE_INGEST_TOKEN || undefined };
}

/** A non-negative number from the environment, or `fallback`; anything else is an error naming the variable. */
export function intFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not ${JSON.stringify(text)}`);
  return n;
}
