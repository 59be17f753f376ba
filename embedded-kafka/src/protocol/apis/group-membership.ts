import { array, field } from '../schema.ts';

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** -1 before v1: the session timeout then bounds the rebalance too. */
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
}

export const JoinGroupRequest = [
  field('groupId', 'string'),
  field('sessionTimeoutMs', 'int32'),
  field('rebalanceTimeoutMs', 'int32', '1+', -1),
  field('memberId', 'string'),
  field('groupInstanceId', 'nullableString', '5+', null),
  field('protocolType', 'string'),
  field('protocols', array([field('name', 'string'), field('metadata', 'bytes')])),
];

export interface JoinGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export const JoinGroupResponse = [
  field('throttleTimeMs', 'int32', '2+'),
  field('errorCode', 'int16'),
  field('generationId', 'int32'),
  field('protocolName', 'string'),
  field('leader', 'string'),
  field('memberId', 'string'),
  field('members', array([
    field('memberId', 'string'),
    field('groupInstanceId', 'nullableString', '5+', null),
    field('metadata', 'bytes'),
  ])),
];

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export const SyncGroupRequest = [
  field('groupId', 'string'),
  field('generationId', 'int32'),
  field('memberId', 'string'),
  field('groupInstanceId', 'nullableString', '3+', null),
  field('assignments', array([field('memberId', 'string'), field('assignment', 'bytes')])),
];

export interface SyncGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  assignment: Buffer;
}

export const SyncGroupResponse = [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16'),
  field('assignment', 'bytes'),
];

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export const HeartbeatRequest = [
  field('groupId', 'string'),
  field('generationId', 'int32'),
  field('memberId', 'string'),
  field('groupInstanceId', 'nullableString', '3+', null),
];

export interface HeartbeatResponse {
  throttleTimeMs: number;
  errorCode: number;
}

export const HeartbeatResponse = [field('throttleTimeMs', 'int32', '1+'), field('errorCode', 'int16')];

export interface LeaveGroupRequest {
  groupId: string;
  /** v0-2: one member leaves. */
  memberId: string;
  /** v3+: a batch of members leaves. */
  members: { memberId: string; groupInstanceId: string | null }[];
}

export const LeaveGroupRequest = [
  field('groupId', 'string'),
  field('memberId', 'string', '0-2'),
  field('members', array([field('memberId', 'string'), field('groupInstanceId', 'nullableString')]), '3+'),
];

export interface LeaveGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export const LeaveGroupResponse = [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16'),
  field('members', array([
    field('memberId', 'string'),
    field('groupInstanceId', 'nullableString'),
    field('errorCode', 'int16'),
  ]), '3+'),
];
