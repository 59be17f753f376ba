import type { Api } from './api.ts';
import { apiVersionsFor } from './api-versions.ts';
import { fetch } from './fetch.ts';
import { findCoordinator, heartbeat, joinGroup, leaveGroup, syncGroup } from './groups.ts';
import { listOffsets } from './list-offsets.ts';
import { metadata } from './metadata.ts';
import { offsetCommit, offsetFetch } from './offsets.ts';
import { produce } from './produce.ts';
import { createTopics, deleteTopics } from './topics.ts';
import { addOffsetsToTxn, addPartitionsToTxn, endTxn, initProducerId, txnOffsetCommit } from './transactions.ts';

/** Every API the broker serves, by API key. */
export const API_TABLE: ReadonlyMap<number, Api> = (() => {
  const apis: Api[] = [
    produce, fetch, listOffsets, metadata, offsetCommit, offsetFetch, findCoordinator,
    joinGroup, heartbeat, leaveGroup, syncGroup, createTopics, deleteTopics,
    initProducerId, addPartitionsToTxn, addOffsetsToTxn, endTxn, txnOffsetCommit,
  ];
  apis.push(apiVersionsFor(() => apis));
  return new Map(apis.map((api) => [api.key, api]));
})();

export const API_VERSIONS_KEY = 18;
