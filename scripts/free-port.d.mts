// Types of scripts/free-port.mjs, for the TypeScript code that asks for a port.

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number>;
