export { instrumentKafka, instrumentKafkaConsumer, instrumentKafkaProducer } from './kafka.ts';
export { processMessage } from './consumer.ts';
export { withBusinessKey, getBusinessKey, setBusinessKey, type BusinessKey } from './flow-context.ts';
export { extractFromHeaders, type ReceivedContext } from './propagation.ts';
export type { ContextMode, InstrumentationOptions, MessageView } from './options.ts';
export * as semconv from './semconv.ts';
