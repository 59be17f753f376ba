/**
 * Spans in causal order: by start time, a parent before its child when their start times tie (SDK
 * clocks in whole milliseconds make that common), then by trace and span id. Cycle-safe: a parent
 * chain that loops (hostile input) counts each span once.
 */

interface Orderable {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  startMs: number;
}

const key = (traceId: string, spanId: string): string => `${traceId}/${spanId}`;

export function inCausalOrder<S extends Orderable>(spans: readonly S[]): S[] {
  const byKey = new Map<string, S>();
  for (const span of spans) byKey.set(key(span.traceId, span.spanId), span);
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
      current = current.parentSpanId === null ? undefined : byKey.get(key(current.traceId, current.parentSpanId));
    }
    for (let i = path.length - 1; i >= 0; i -= 1) depth.set(path[i]!, ++base);
    return depth.get(span)!;
  };
  for (const span of spans) depthOf(span);
  return [...spans].sort((a, b) =>
    a.startMs - b.startMs
    || depth.get(a)! - depth.get(b)!
    || compareText(a.traceId, b.traceId)
    || compareText(a.spanId, b.spanId));
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
