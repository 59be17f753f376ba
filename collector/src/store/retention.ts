import type { SpanStore } from './store.ts';

export interface RetentionOptions {
  /** Spans that started longer ago than this are deleted. */
  retentionMs: number;
  /** How often the sweep runs. Default: a tenth of the retention, between 1 minute and 1 hour. */
  sweepIntervalMs?: number;
  /** Spans deleted per statement; a sweep runs rounds until fewer than this went. Default 10000. */
  deleteBatchSpans?: number;
  /** Told how many spans and flows each sweep deleted, or why it failed. */
  onSweep?: (outcome: { deleted: number; flowsDeleted: number } | { error: Error }) => void;
  now?: () => number;
}

/**
 * Deletes old spans in the background. Rounds are bounded so ingest keeps committing between them; a
 * failed sweep (store down) is reported and retried at the next interval, never thrown.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly intervalMs: number;
  private readonly batch: number;
  private readonly now: () => number;

  constructor(private readonly store: SpanStore, private readonly options: RetentionOptions) {
    this.intervalMs = options.sweepIntervalMs ?? Math.min(3_600_000, Math.max(60_000, options.retentionMs / 10));
    this.batch = options.deleteBatchSpans ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs).unref();
  }

  /** One sweep now; resolves with the number of spans deleted (0 when it failed). */
  sweep(): Promise<number> {
    this.running ??= this.deleteOld().finally(() => (this.running = null));
    return this.running;
  }

  private async deleteOld(): Promise<number> {
    const cutoffMs = this.now() - this.options.retentionMs;
    let deleted = 0;
    let flowsDeleted = 0;
    try {
      for (;;) {
        const round = await this.store.deleteSpansStartedBefore(cutoffMs, this.batch);
        deleted += round;
        if (round < this.batch) break;
      }
      // a flow goes once its last event is past the retention: its spans are gone by then
      for (;;) {
        const round = await this.store.deleteFlowsEndedBefore(cutoffMs, this.batch);
        flowsDeleted += round;
        if (round < this.batch) break;
      }
      // a resolved alert goes with the flows it was about (a firing one stays, whatever its age)
      await this.store.alerts.deleteAlertsEndedBefore(cutoffMs);
      this.options.onSweep?.({ deleted, flowsDeleted });
      return deleted;
    } catch (error) {
      this.options.onSweep?.({ error: error as Error });
      return deleted;
    }
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
