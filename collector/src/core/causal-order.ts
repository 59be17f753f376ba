/**
 * Spans in causal order: by start time, a parent before its child when their start times tie (SDK
 * clocks in whole milliseconds make that common), then by trace and span id. Cycle-safe: a parent
 * chain that loops (hostile input) counts each span once.
 */

interface Orderable {
  /** `traceId/spanId`: sorting by it sorts by trace id, then span id. */
  key: string;
  /** The parent's key, null for a root. */
  parentKey: string | null;
  startMs: number;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function inCausalOrder<S extends Orderable>(spans: readonly S[]): S[] {
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs || compareText(a.key, b.key));
  // only spans that tie on start time need their depth: most have start times of their own
  let tied = false;
  for (let i = 1; i < sorted.length && !tied; i += 1) tied = sorted[i]!.startMs === sorted[i - 1]!.startMs;
  if (!tied) return sorted;

  const byKey = new Map<string, S>();
  for (const span of spans) byKey.set(span.key, span);
  const depth = new Map<S, number>();
  const depthOf = (span: S): number => {
    const known = depth.get(span);
    if (known !== undefined) return known;
    // walk up to the first ancestor whose depth is known (or the top), then fill the path back down
    const path: S[] = [];
    const onPath = new Set<S>();
    let current: S | undefined = span;
    let base = -1;
    while (current !== undefined) {
      const found = depth.get(current);
      if (found !== undefined) {
        base = found;
        break;
      }
      if (onPath.has(current)) break; // a cycle: its members count from here
      path.push(current);
      onPath.add(current);
      current = current.parentKey === null ? undefined : byKey.get(current.parentKey);
    }
    for (let i = path.length - 1; i >= 0; i -= 1) depth.set(path[i]!, ++base);
    return depth.get(span)!;
  };
  return sorted.sort((a, b) => a.startMs - b.startMs || depthOf(a) - depthOf(b) || compareText(a.key, b.key));
}
