export { Teardown } from './teardown.ts';
export { waitFor } from './wait-for.ts';
