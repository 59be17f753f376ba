import { ErrorCode } from '../protocol/errors.ts';
import { ProduceRequest, ProduceResponse, type ProducePartitionResponse } from '../protocol/apis/produce.ts';
import { InvalidBatchError, validateRecordSet } from '../records/record-batch.ts';
import { topicNameProblem } from '../log/topic-store.ts';
import { defineApi, type RequestContext } from './api.ts';

const BATCH_ERRORS: Record<InvalidBatchError['code'], number> = {
  corrupt: ErrorCode.CORRUPT_MESSAGE,
  'unsupported-compression': ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  'unsupported-format': ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  'invalid-record': ErrorCode.INVALID_RECORD,
};

function producePartition(topicName: string, index: number, records: Buffer | null, { state }: RequestContext): ProducePartitionResponse {
  const answer = (errorCode: number, errorMessage: string | null = null, baseOffset = -1): ProducePartitionResponse =>
    ({ index, errorCode, baseOffset, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage });
  const nameProblem = topicNameProblem(topicName);
  if (nameProblem) return answer(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
  const log = state.topicForUse(topicName, true)?.partitions[index];
  if (!log) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topicName}-${index} does not exist`);
  if (records === null || records.length === 0) return answer(ErrorCode.CORRUPT_MESSAGE, 'empty record set');
  try {
    const { batches, headers } = validateRecordSet(records);
    for (const header of headers) {
      if (header.isControl) return answer(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
      if (!header.isTransactional) continue;
      const refused = state.transactions.mayWrite(header.producerId, header.producerEpoch, topicName, index);
      if (refused !== ErrorCode.NONE) return answer(refused, `transactional batch for ${topicName}-${index} outside its producer's open transaction`);
    }
    const appended = log.appendChecked(batches, headers);
    if ('errorCode' in appended) return answer(appended.errorCode, appended.message);
    state.appends.notify(topicName, index);
    return { ...answer(ErrorCode.NONE, null, appended.baseOffset), logStartOffset: log.logStartOffset };
  } catch (error) {
    if (!(error instanceof InvalidBatchError)) throw error;
    state.log(`produce to ${topicName}-${index} refused: ${error.message}`);
    return answer(BATCH_ERRORS[error.code], error.message);
  }
}

export const produce = defineApi<ProduceRequest, ProduceResponse>({
  key: 0,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 8,
  request: ProduceRequest,
  response: ProduceResponse,
  handle(request, context) {
    const validAcks = request.acks === 0 || request.acks === 1 || request.acks === -1;
    const responses = request.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p) =>
        validAcks
          ? producePartition(topic.name, p.index, p.records, context)
          : { index: p.index, errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: `acks must be 0, 1 or -1, not ${request.acks}` },
      ),
    }));
    // acks=0: the client expects no response at all.
    return request.acks === 0 ? null : { responses, throttleTimeMs: 0 };
  },
});
