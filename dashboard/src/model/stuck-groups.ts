/**
 * Late and stalled flows grouped by what they wait for (pure): one group per step and awaited party, as
 * the alerts group them, the longest waiting first, so "12 flows waiting for PaymentAuthorized from
 * payment" reads as one line with its flows under it.
 */
import type { ApiWaitExplanation, FlowSummary } from '../../../collector/src/api/types.ts';

export interface StuckGroup {
  key: string;
  /** What they wait for, in words after their count, as the oldest flow's explanation says it ("waiting for …"). */
  headline: string;
  afterEventType: string;
  stalled: number;
  late: number;
  /** When the longest-waiting flow's wait began. */
  oldestSinceMs: number;
  /** The flows, the longest waiting first. */
  flows: FlowSummary[];
}

export function stuckGroups(flows: readonly FlowSummary[]): StuckGroup[] {
  const groups = new Map<string, StuckGroup>();
  for (const flow of flows) {
    if ((flow.state !== 'late' && flow.state !== 'stalled') || flow.explanation === null || flow.explanation.kind === 'failure') continue;
    const explanation: ApiWaitExplanation = flow.explanation;
    const key = JSON.stringify([explanation.kind, explanation.afterEventType, explanation.awaitedService, explanation.consumerGroup]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { key, headline: headline(explanation), afterEventType: explanation.afterEventType, stalled: 0, late: 0, oldestSinceMs: explanation.sinceMs, flows: [] };
      groups.set(key, group);
    }
    group[flow.state] += 1;
    group.flows.push(flow);
    if (explanation.sinceMs < group.oldestSinceMs) {
      group.oldestSinceMs = explanation.sinceMs;
      group.headline = headline(explanation);
    }
  }
  const sinceOf = (flow: FlowSummary) => (flow.explanation?.sinceMs ?? flow.lastEventMs);
  for (const group of groups.values()) group.flows.sort((a, b) => sinceOf(a) - sinceOf(b));
  return [...groups.values()].sort((a, b) => b.stalled + b.late - (a.stalled + a.late) || a.oldestSinceMs - b.oldestSinceMs);
}

/**
 * A group's figures as the panel says them. `partial`, per state: the flows read were the newest page of
 * more (the API lists newest activity first), so that count is a lower bound and the longest wait is
 * among those read.
 */
export function groupFigures(
  group: StuckGroup, partial: { stalled: boolean; late: boolean }, nowMs: number, duration: (ms: number) => string,
): { count: string; detail: string } {
  const some = partial.stalled || partial.late;
  const more = (p: boolean) => (p ? '+' : '');
  return {
    count: `${group.stalled + group.late}${more(some)}`,
    detail: `${group.stalled}${more(partial.stalled)} stalled, ${group.late}${more(partial.late)} late · ` +
      `the longest ${some ? 'of the newest read ' : ''}for ${duration(nowMs - group.oldestSinceMs)}`,
  };
}

function headline(explanation: ApiWaitExplanation): string {
  const service = explanation.awaitedService ?? 'an unknown service';
  if (explanation.kind === 'consumer') return `waiting for ${service} (group ${explanation.consumerGroup ?? '?'}) to handle ${explanation.afterEventType}`;
  const awaited = explanation.awaitedEventTypes.slice(0, 3).join(' or ') || 'the next event';
  // a handling that ended without sending is its own group: not slow, stuck at once
  const silent = explanation.handledWithoutSending;
  if (silent !== null) return `where ${silent.service} (group ${silent.consumerGroup}) finished handling ${explanation.afterEventType} without sending ${awaited}`;
  return `waiting for ${awaited} from ${service}, after ${explanation.afterEventType}`;
}
