export { fuzzSeed, seededRandom } from './seeded-random.ts';
export { Teardown } from './teardown.ts';
export { waitFor } from './wait-for.ts';
