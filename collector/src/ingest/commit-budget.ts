/**
 * How long an export may wait for its commit. A store that hangs (a lock held elsewhere, a database
 * server that stopped answering without closing the connection) would otherwise hold every export
 * until its sender times out, with no answer saying why. Past the budget the export is answered 503
 * with Retry-After; its write goes on, and if it commits later the sender's retry finds its spans
 * stored (storing is idempotent), so nothing acknowledged is ever missing and nothing is lost by the
 * early answer.
 */

export const DEFAULT_COMMIT_TIMEOUT_MS = 5_000; // under the OTLP exporters' 10 s default timeout, so the sender hears why

export class CommitTimeoutError extends Error {
  constructor(readonly commitTimeoutMs: number) {
    super(`the store did not commit within ${commitTimeoutMs} ms`);
    this.name = 'CommitTimeoutError';
  }
}

/**
 * `commit`'s outcome if it settles within `budgetMs`, else a CommitTimeoutError. `late` is called
 * with the outcome of a commit that settled after the budget ran out, so its work is still counted.
 */
export function withinCommitBudget<T>(
  commit: Promise<T>,
  budgetMs: number,
  late: (outcome: { value: T } | { error: unknown }) => void,
): Promise<T> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new CommitTimeoutError(budgetMs));
    }, budgetMs);
  });
  commit.then(
    (value) => timedOut && late({ value }),
    (error: unknown) => timedOut && late({ error }),
  );
  return Promise.race([commit, budget]).finally(() => clearTimeout(timer));
}
