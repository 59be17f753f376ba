/**
 * Resolves once `condition` returns true (checked every `intervalMs`), rejects after `timeoutMs` with
 * `what` in the message (a function is called only then, so it can describe the state at the timeout).
 * A condition that throws fails the wait at once. Tests wait for what they expect instead of sleeping.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string) = 'condition',
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
