/** Times and rates in a few characters, for labels and lists. */

/** Milliseconds in words: 840 ms, 2.4 s, 42 s, 3.1 min, 2.0 h. */
export function shortDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A rate, per second from one a second, else per minute: 12/s, 1.5/s, 42/min, 3/min. */
export function shortRate(perSecond: number | null): string {
  if (perSecond === null || perSecond <= 0) return '';
  if (perSecond >= 10) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  return `${Math.max(1, Math.round(perSecond * 60))}/min`;
}

/** A count and its noun: 1 flow, 3 flows; `plural` when adding an s will not do. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}

/** An offset from a flow's start, for a time axis: +0, +250 ms, +1.5 s, +2.0 min. */
export function offsetLabel(ms: number): string {
  return ms <= 0 ? '+0' : `+${shortDuration(ms)}`;
}
