export { startBroker, type RunningBroker } from './broker/start-broker.ts';
export type { BrokerOptions } from './broker/options.ts';
export { decodeRecords, readBatchHeader, type KafkaRecord, type RecordHeader } from './records/record-batch.ts';
export { ErrorCode } from './protocol/errors.ts';
