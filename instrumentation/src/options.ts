import type { TracerProvider } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

/** A message as both sides see it: what the producer sends and what the consumer receives. */
export interface MessageView {
  topic: string;
  key: Buffer | string | null | undefined;
  value: Buffer | string | null;
  headers: IHeaders | undefined;
}

/**
 * How a consumer span is tied to the producer's: `parent` continues the producer's trace (one trace per
 * order, across every hop); `link` starts a trace per processing and links it to the producer's span
 * (the messaging semantic conventions' choice for work that spans many messages). Both keep the chain.
 */
export type ContextMode = 'parent' | 'link';

export interface InstrumentationOptions {
  /** Default: the global tracer provider (set up by `startTracing` or your own SDK). */
  tracerProvider?: TracerProvider;
  /**
   * The business key of a message. Producer side: asked first, then the key in the active context
   * (`withBusinessKey`, or the consumed message being handled), then the baggage entry
   * `choreoscope.business_key`. Consumer side: asked only when the message carries no key header, e.g.
   * for messages from producers without this instrumentation. Return undefined when there is none.
   */
  businessKey?: (message: MessageView) => string | undefined;
  /** The event type (`OrderCreated`). Default: the `choreoscope-event-type` or CloudEvents `ce_type` header. */
  eventType?: (message: MessageView) => string | undefined;
  /** Default `parent`. */
  contextMode?: ContextMode;
  /** `messaging.client.id`; default: the client id kafkajs reports for its first request. */
  clientId?: string;
  /** Record `messaging.kafka.message.key` (keys may be personal data). Default true. */
  recordMessageKey?: boolean;
}

export interface ResolvedOptions {
  tracerProvider: TracerProvider | undefined;
  businessKey: ((message: MessageView) => string | undefined) | undefined;
  eventType: ((message: MessageView) => string | undefined) | undefined;
  contextMode: ContextMode;
  clientId: string | undefined;
  recordMessageKey: boolean;
}

export function resolveOptions(options: InstrumentationOptions = {}): ResolvedOptions {
  return {
    tracerProvider: options.tracerProvider,
    businessKey: options.businessKey,
    eventType: options.eventType,
    contextMode: options.contextMode ?? 'parent',
    clientId: options.clientId,
    recordMessageKey: options.recordMessageKey ?? true,
  };
}
