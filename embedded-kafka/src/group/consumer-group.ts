import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.ts';
import type { JoinGroupRequest, JoinGroupResponse, SyncGroupResponse } from '../protocol/apis/group-membership.ts';

/** The group states of Kafka's classic group protocol. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface GroupTimeouts {
  /** Delay before the first rebalance of an empty group completes, so several members can join at once. */
  initialRebalanceDelayMs: number;
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: { name: string; metadata: Buffer }[];
  assignment: Buffer;
  awaitingJoin: ((response: JoinGroupResponse) => void) | null;
  awaitingSync: ((response: SyncGroupResponse) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

type JoinAnswer = Omit<JoinGroupResponse, 'throttleTimeMs'>;

const joinError = (errorCode: number, memberId = ''): JoinGroupResponse =>
  ({ throttleTimeMs: 0, errorCode, generationId: -1, protocolName: '', leader: '', memberId, members: [] });
const syncAnswer = (errorCode: number, assignment: Buffer = Buffer.alloc(0)): SyncGroupResponse =>
  ({ throttleTimeMs: 0, errorCode, assignment });

/**
 * One consumer group and its rebalance protocol: members join, the coordinator waits until every known
 * member has rejoined (or the rebalance timeout removes the ones that did not), then the leader's
 * assignment is handed out through SyncGroup. Members that stop heartbeating are evicted after their
 * session timeout, which starts a new rebalance.
 */
export class ConsumerGroup {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  private members = new Map<string, Member>();
  /** Ids handed out with MEMBER_ID_REQUIRED, valid until the member joins with them or times out. */
  private pendingMemberIds = new Map<string, NodeJS.Timeout>();
  private rebalanceTimer: NodeJS.Timeout | null = null;

  constructor(readonly groupId: string, private readonly timeouts: GroupTimeouts, private readonly log: (line: string) => void) {}

  get memberCount(): number {
    return this.members.size;
  }

  hasMember(memberId: string): boolean {
    return this.members.has(memberId);
  }

  join(request: JoinGroupRequest, version: number, clientId: string): Promise<JoinGroupResponse> {
    if (this.protocolType !== null && this.members.size > 0 && request.protocolType !== this.protocolType) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (this.members.size > 0 && !request.protocols.some((p) => this.everyMemberSupports(p.name))) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    let memberId = request.memberId;
    if (memberId === '') {
      memberId = `${clientId || 'member'}-${randomUUID()}`;
      if (version >= 4) {
        // KIP-394: the member must come back with this id, so a lost response cannot leak a member.
        this.pendingMemberIds.set(memberId, setTimeout(() => this.expirePending(memberId), request.sessionTimeoutMs).unref());
        return Promise.resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId));
      }
    } else if (!this.members.has(memberId) && !this.pendingMemberIds.has(memberId)) {
      return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId));
    }
    const pending = this.pendingMemberIds.get(memberId);
    if (pending) {
      clearTimeout(pending);
      this.pendingMemberIds.delete(memberId);
    }

    const existing = this.members.get(memberId);
    if (existing && this.state === 'CompletingRebalance' && sameProtocols(existing.protocols, request.protocols)) {
      // The member missed our JoinGroup response: answer with the generation in progress.
      this.touch(existing);
      return Promise.resolve({ throttleTimeMs: 0, ...this.joinAnswerFor(existing) });
    }

    return new Promise<JoinGroupResponse>((resolve) => {
      const member: Member = existing ?? {
        memberId,
        groupInstanceId: request.groupInstanceId,
        clientId,
        sessionTimeoutMs: 0,
        rebalanceTimeoutMs: 0,
        protocols: [],
        assignment: Buffer.alloc(0),
        awaitingJoin: null,
        awaitingSync: null,
        sessionTimer: null,
      };
      member.sessionTimeoutMs = request.sessionTimeoutMs;
      member.rebalanceTimeoutMs = request.rebalanceTimeoutMs >= 0 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs;
      member.protocols = request.protocols;
      member.awaitingJoin?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, memberId));
      member.awaitingJoin = resolve;
      if (member.sessionTimer) clearTimeout(member.sessionTimer);
      member.sessionTimer = null; // a member waiting in JoinGroup is bounded by the rebalance timeout instead
      if (!existing) {
        this.members.set(memberId, member);
        this.log(`group ${this.groupId}: member ${memberId} joined`);
      }
      this.protocolType = request.protocolType;
      if (this.state !== 'PreparingRebalance') this.prepareRebalance();
      else this.maybeCompleteJoin();
    });
  }

  sync(memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[]): Promise<SyncGroupResponse> {
    const member = this.members.get(memberId);
    if (!member) return Promise.resolve(syncAnswer(ErrorCode.UNKNOWN_MEMBER_ID));
    if (generationId !== this.generationId) return Promise.resolve(syncAnswer(ErrorCode.ILLEGAL_GENERATION));
    this.touch(member);
    if (this.state === 'PreparingRebalance') return Promise.resolve(syncAnswer(ErrorCode.REBALANCE_IN_PROGRESS));
    if (this.state === 'Stable') return Promise.resolve(syncAnswer(ErrorCode.NONE, member.assignment));
    return new Promise((resolve) => {
      member.awaitingSync = resolve;
      if (memberId !== this.leaderId) return;
      for (const m of this.members.values()) {
        m.assignment = assignments.find((a) => a.memberId === m.memberId)?.assignment ?? Buffer.alloc(0);
      }
      this.state = 'Stable';
      this.log(`group ${this.groupId}: generation ${this.generationId} stable with ${this.members.size} member(s)`);
      for (const m of this.members.values()) {
        m.awaitingSync?.(syncAnswer(ErrorCode.NONE, m.assignment));
        m.awaitingSync = null;
      }
    });
  }

  heartbeat(memberId: string, generationId: number): number {
    const member = this.members.get(memberId);
    if (this.state === 'Empty' || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(member);
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leave(memberId: string): number {
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.log(`group ${this.groupId}: member ${memberId} left`);
    this.remove(member);
    return ErrorCode.NONE;
  }

  /** Whether a commit from this member and generation may be written (Kafka's rules). */
  commitError(memberId: string, generationId: number): number {
    if (generationId < 0 && memberId === '' && this.state === 'Empty') return ErrorCode.NONE;
    const member = this.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (this.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    this.touch(member);
    return ErrorCode.NONE;
  }

  /** Ends every pending request and timer (broker shutdown). */
  close(): void {
    if (this.rebalanceTimer) clearTimeout(this.rebalanceTimer);
    for (const timer of this.pendingMemberIds.values()) clearTimeout(timer);
    for (const member of this.members.values()) {
      if (member.sessionTimer) clearTimeout(member.sessionTimer);
      member.awaitingJoin?.(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, member.memberId));
      member.awaitingSync?.(syncAnswer(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
    this.members.clear();
  }

  private everyMemberSupports(protocol: string): boolean {
    return [...this.members.values()].every((m) => m.protocols.some((p) => p.name === protocol));
  }

  /** Restarts the member's session timer: any request from it proves it is alive. */
  private touch(member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = setTimeout(() => {
      this.log(`group ${this.groupId}: member ${member.memberId} evicted after ${member.sessionTimeoutMs} ms without a heartbeat`);
      this.remove(member);
    }, member.sessionTimeoutMs).unref();
  }

  private expirePending(memberId: string): void {
    this.pendingMemberIds.delete(memberId);
    this.maybeCompleteJoin();
  }

  private remove(member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.awaitingSync?.(syncAnswer(ErrorCode.UNKNOWN_MEMBER_ID));
    this.members.delete(member.memberId);
    if (this.leaderId === member.memberId) this.leaderId = this.members.keys().next().value ?? null;
    if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
    else if (this.members.size === 0) this.becomeEmpty();
    else this.prepareRebalance();
  }

  private becomeEmpty(): void {
    if (this.rebalanceTimer) clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = null;
    this.state = 'Empty';
    this.leaderId = null;
    this.protocolName = null;
  }

  private prepareRebalance(): void {
    for (const m of this.members.values()) {
      m.awaitingSync?.(syncAnswer(ErrorCode.REBALANCE_IN_PROGRESS));
      m.awaitingSync = null;
    }
    const wasEmpty = this.state === 'Empty';
    this.state = 'PreparingRebalance';
    if (this.rebalanceTimer) clearTimeout(this.rebalanceTimer);
    const rebalanceTimeoutMs = Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
    const waitMs = wasEmpty ? Math.min(this.timeouts.initialRebalanceDelayMs, rebalanceTimeoutMs) : rebalanceTimeoutMs;
    this.rebalanceTimer = setTimeout(() => this.completeJoin(), waitMs).unref();
    if (!wasEmpty || this.timeouts.initialRebalanceDelayMs === 0) this.maybeCompleteJoin();
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    const allJoined = [...this.members.values()].every((m) => m.awaitingJoin !== null);
    if (allJoined && this.pendingMemberIds.size === 0) this.completeJoin();
  }

  /** Ends the join phase: members that did not rejoin in time are dropped, the rest get the new generation. */
  private completeJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    if (this.rebalanceTimer) clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = null;
    for (const m of [...this.members.values()]) {
      if (m.awaitingJoin === null) {
        this.log(`group ${this.groupId}: member ${m.memberId} removed, it did not rejoin within the rebalance timeout`);
        if (m.sessionTimer) clearTimeout(m.sessionTimer);
        this.members.delete(m.memberId);
      }
    }
    this.generationId++;
    if (this.members.size === 0) {
      this.becomeEmpty();
      return;
    }
    if (this.leaderId === null || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value!;
    this.protocolName = this.selectProtocol();
    this.state = 'CompletingRebalance';
    this.log(`group ${this.groupId}: generation ${this.generationId} with ${this.members.size} member(s), leader ${this.leaderId}`);
    for (const m of this.members.values()) {
      const respond = m.awaitingJoin!;
      m.awaitingJoin = null;
      this.touch(m);
      respond({ throttleTimeMs: 0, ...this.joinAnswerFor(m) });
    }
  }

  private joinAnswerFor(member: Member): JoinAnswer {
    const isLeader = member.memberId === this.leaderId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolName: this.protocolName ?? '',
      leader: this.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...this.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? Buffer.alloc(0),
          }))
        : [],
    };
  }

  /** The protocol every member supports that most members list first (Kafka's vote). */
  private selectProtocol(): string {
    const members = [...this.members.values()];
    const candidates = members[0]!.protocols.map((p) => p.name).filter((name) => this.everyMemberSupports(name));
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of members) {
      const choice = m.protocols.find((p) => votes.has(p.name));
      if (choice) votes.set(choice.name, votes.get(choice.name)! + 1);
    }
    return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  }
}

function sameProtocols(a: { name: string; metadata: Buffer }[], b: { name: string; metadata: Buffer }[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}
