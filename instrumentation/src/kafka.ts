import type { Consumer, ConsumerConfig, Kafka, Producer, ProducerConfig } from 'kafkajs';
import { instrumentConsumer } from './consumer.ts';
import { resolveOptions, type InstrumentationOptions } from './options.ts';
import { instrumentProducer } from './producer.ts';

const INSTRUMENTED = Symbol.for('choreoscope.instrumented');

/**
 * Instruments every producer and consumer this Kafka instance creates from now on; the rest of the
 * service's code does not change. Returns the same instance.
 *
 *   const kafka = instrumentKafka(new Kafka({ clientId: 'payment', brokers }), {
 *     businessKey: (m) => JSON.parse(String(m.value)).orderId,
 *   });
 */
export function instrumentKafka<K extends Kafka>(kafka: K, options: InstrumentationOptions = {}): K {
  const tagged = kafka as K & { [INSTRUMENTED]?: true };
  if (tagged[INSTRUMENTED]) return kafka;
  tagged[INSTRUMENTED] = true;
  const resolved = resolveOptions(options);
  const createProducer = kafka.producer.bind(kafka);
  const createConsumer = kafka.consumer.bind(kafka);
  kafka.producer = (config?: ProducerConfig): Producer => instrumentProducer(createProducer(config), resolved);
  kafka.consumer = (config: ConsumerConfig): Consumer => instrumentConsumer(createConsumer(config), resolved, config.groupId);
  return kafka;
}

/** Instruments one producer created elsewhere. */
export function instrumentKafkaProducer<P extends Producer>(producer: P, options: InstrumentationOptions = {}): P {
  return instrumentProducer(producer, resolveOptions(options));
}

/** Instruments one consumer created elsewhere; its group id is learned when it joins. */
export function instrumentKafkaConsumer<C extends Consumer>(consumer: C, options: InstrumentationOptions = {}): C {
  return instrumentConsumer(consumer, resolveOptions(options));
}
