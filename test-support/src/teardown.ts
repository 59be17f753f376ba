/**
 * Cleanup steps registered as resources are made, run last-in first-out. Every step runs even when an
 * earlier one fails; the first failure is rethrown. Running it twice is harmless.
 */
export class Teardown {
  private steps: (() => unknown)[] = [];

  defer(step: () => unknown): void {
    this.steps.push(step);
  }

  /** `client.connect()`, with its `disconnect()` deferred. */
  async connect<C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: C): Promise<C> {
    await client.connect();
    this.defer(() => client.disconnect());
    return client;
  }

  async run(): Promise<void> {
    let failure: unknown = null;
    while (this.steps.length > 0) {
      try {
        await this.steps.pop()!();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
  }
}
