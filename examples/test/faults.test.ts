/**
 * The fault commands and the schedule, pure: what `npm run demo:fault` accepts and refuses, how switches
 * fold into the state every process holds, and which scheduled faults fall due when.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyCommand, isOneShot, MAX_SLOW_MS, noFaults, parseFault } from '../src/faults.ts';
import { CYCLE_S, dueFaults, SCHEDULE } from '../src/demo/schedule.ts';

test('faults are parsed from the words typed, and wrong ones refused with what would be right', () => {
  assert.deepEqual(parseFault(['pause', 'payment']), [{ kind: 'pause', service: 'payment', on: true }]);
  assert.deepEqual(parseFault(['slow', 'inventory', '4000']), [{ kind: 'slow', service: 'inventory', delayMs: 4000 }]);
  assert.deepEqual(parseFault(['redeliver', 'notification']), [{ kind: 'redeliver', service: 'notification', count: 20 }]);
  assert.deepEqual(parseFault(['poison']), [{ kind: 'poison', service: 'order', count: 1 }]);
  assert.deepEqual(parseFault(['lose-sends', 'payment']), [{ kind: 'lose-sends', service: 'payment', count: 3 }]);
  assert.deepEqual(parseFault(['lose-sends', 'inventory', '7']), [{ kind: 'lose-sends', service: 'inventory', count: 7 }]);
  assert.deepEqual(parseFault(['skip-backlog', 'payment']), [{ kind: 'skip-backlog', service: 'payment' }]);
  assert.throws(() => parseFault(['skip-backlog']), /unknown service "": one of order, payment/);
  assert.throws(() => parseFault(['lose-sends', 'payment', '0']), /the count must be a whole number from 1 to 1000/);
  assert.throws(() => parseFault(['pause', 'warehouse']), /unknown service "warehouse": one of order, payment/);
  assert.throws(() => parseFault(['slow', 'inventory', String(MAX_SLOW_MS + 1)]), /from 1 to 8000/);
  assert.throws(() => parseFault(['slow', 'inventory']), /slow takes a delay in ms/);
  assert.throws(() => parseFault(['drop-context', 'maybe']), /drop-context takes on or off/);
  assert.throws(() => parseFault(['poison', '0']), /from 1 to 100/);
  assert.throws(() => parseFault(['explode']), /unknown fault "explode"; one of:\npause/);
});

test('switches fold into one state; one-shot commands leave it alone; clear turns every switch off', () => {
  let state = noFaults();
  for (const words of [['pause', 'payment'], ['slow', 'inventory', '3000'], ['drop-context', 'on'], ['crash', 'shipping'], ['legacy-hop', 'on']]) {
    for (const command of parseFault(words)) state = applyCommand(state, command);
  }
  assert.deepEqual([...state.paused], ['payment']);
  assert.deepEqual([...state.slowMs], [['inventory', 3000]]);
  assert.equal(state.dropContext, true);
  assert.equal(state.legacyHop, true);
  for (const command of parseFault(['clear'])) {
    assert.equal(isOneShot(command), false);
    state = applyCommand(state, command);
  }
  assert.deepEqual(state, noFaults());
  assert.ok(parseFault(['crash', 'order']).every(isOneShot) && parseFault(['poison', '2']).every(isOneShot));
  assert.ok(parseFault(['lose-sends', 'payment']).every(isOneShot) && parseFault(['skip-backlog', 'payment']).every(isOneShot));
  assert.deepEqual(applyCommand(noFaults(), parseFault(['lose-sends', 'payment'])[0]!), noFaults(), 'one-shot: no switch');
});

test('the schedule: a minute of normal traffic, each fault once per cycle, in order, every cycle again', () => {
  assert.deepEqual(dueFaults(0, 59.9), []);
  const firstCycle = dueFaults(0, CYCLE_S);
  assert.deepEqual(firstCycle.map((f) => f.fault), SCHEDULE.map((f) => f.fault));
  assert.deepEqual(dueFaults(CYCLE_S, 2 * CYCLE_S).map((f) => f.fault), SCHEDULE.map((f) => f.fault));
  // played second by second, nothing is sent twice or skipped
  const played: string[] = [];
  for (let s = 0; s < 2 * CYCLE_S; s++) played.push(...dueFaults(s, s + 1).map((f) => f.fault));
  assert.deepEqual(played, [...SCHEDULE, ...SCHEDULE].map((f) => f.fault));
  // every switch turned on is turned off again within its cycle
  let state = noFaults();
  for (const due of firstCycle) for (const command of due.commands) state = applyCommand(state, command);
  assert.deepEqual(state, noFaults());
});
