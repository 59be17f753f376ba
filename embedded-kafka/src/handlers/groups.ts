import { ErrorCode } from '../protocol/errors.ts';
import { FindCoordinatorRequest, FindCoordinatorResponse } from '../protocol/apis/find-coordinator.ts';
import {
  HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
  SyncGroupRequest, SyncGroupResponse,
} from '../protocol/apis/group-membership.ts';
import { NODE_ID } from '../broker/broker-state.ts';
import { defineApi } from './api.ts';

/** This broker coordinates every group (and would every transaction). */
export const findCoordinator = defineApi<FindCoordinatorRequest, FindCoordinatorResponse>({
  key: 10,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 2,
  request: FindCoordinatorRequest,
  response: FindCoordinatorResponse,
  handle(_request, { state }) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      nodeId: NODE_ID,
      host: state.options.advertisedHost,
      port: state.port,
    };
  },
});

export const joinGroup = defineApi<JoinGroupRequest, JoinGroupResponse>({
  key: 11,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 5,
  request: JoinGroupRequest,
  response: JoinGroupResponse,
  handle(request, { state, apiVersion, clientId }) {
    const fail = (errorCode: number) =>
      ({ throttleTimeMs: 0, errorCode, generationId: -1, protocolName: '', leader: '', memberId: request.memberId, members: [] });
    if (request.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = state.options;
    if (request.sessionTimeoutMs < minSessionTimeoutMs || request.sessionTimeoutMs > maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (request.protocolType === '' || request.protocols.length === 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    return state.group(request.groupId).join(request, apiVersion, clientId);
  },
});

export const syncGroup = defineApi<SyncGroupRequest, SyncGroupResponse>({
  key: 14,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 3,
  request: SyncGroupRequest,
  response: SyncGroupResponse,
  handle(request, { state }) {
    const group = state.existingGroup(request.groupId);
    if (!group) return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: Buffer.alloc(0) };
    return group.sync(request.memberId, request.generationId, request.assignments);
  },
});

export const heartbeat = defineApi<HeartbeatRequest, HeartbeatResponse>({
  key: 12,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 3,
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  handle(request, { state }) {
    const group = state.existingGroup(request.groupId);
    const errorCode = group ? group.heartbeat(request.memberId, request.generationId) : ErrorCode.UNKNOWN_MEMBER_ID;
    return { throttleTimeMs: 0, errorCode };
  },
});

export const leaveGroup = defineApi<LeaveGroupRequest, LeaveGroupResponse>({
  key: 13,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 3,
  request: LeaveGroupRequest,
  response: LeaveGroupResponse,
  handle(request, { state, apiVersion }) {
    const group = state.existingGroup(request.groupId);
    const leaving = apiVersion >= 3 ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
    const members = leaving.map((m) => ({
      ...m,
      errorCode: group ? group.leave(m.memberId) : ErrorCode.UNKNOWN_MEMBER_ID,
    }));
    // v0-2 report the single member's outcome at the top level; v3+ per member.
    const errorCode = apiVersion >= 3 ? ErrorCode.NONE : members[0]!.errorCode;
    return { throttleTimeMs: 0, errorCode, members };
  },
});
