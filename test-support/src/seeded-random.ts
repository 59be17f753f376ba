import { createHash } from 'node:crypto';

/**
 * A deterministic stream of numbers in [0, 1) from `seed` (SHA-256 in counter mode), for tests that
 * damage input at random: the same seed replays the same cases, so a failure can be reproduced.
 */
export function seededRandom(seed: string): () => number {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + 4 > block.length) {
      block = createHash('sha256').update(`${seed}/${counter++}`).digest();
      at = 0;
    }
    const value = block.readUInt32BE(at) / 2 ** 32;
    at += 4;
    return value;
  };
}

/** The seed a fuzz test runs with: CHOREOSCOPE_FUZZ_SEED when set (to try other cases), else `fallback`. */
export function fuzzSeed(fallback: string): string {
  return process.env.CHOREOSCOPE_FUZZ_SEED ?? fallback;
}
