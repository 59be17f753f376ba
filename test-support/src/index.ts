export { fuzzSeed, seededRandom } from './seeded-random.ts';
export { Teardown } from './teardown.ts';
export { waitFor } from './wait-for.ts';
export { otlpAnyValue, otlpKeyValues, type JsonAttributeValue } from './otlp-attributes.ts';
