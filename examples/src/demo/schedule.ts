/**
 * The demo's fault schedule: after a minute of normal traffic, one fault after another, each with what a
 * newcomer should look at in the dashboard, then the cycle begins again. Pure: the launcher plays it.
 */
import type { FaultCommand } from '../faults.ts';
import { parseFault } from '../faults.ts';

export interface ScheduledFault {
  /** Seconds from the start of a cycle. */
  atS: number;
  /** As typed to `npm run demo:fault --`. */
  fault: string;
  /** What to look at. */
  see: string;
}

export const NORMAL_TRAFFIC_S = 60;
/** A cycle's length: the last fault's effects have cleared before the next cycle begins. */
export const CYCLE_S = 480;

export const SCHEDULE: readonly ScheduledFault[] = [
  { atS: 60, fault: 'pause payment', see: 'orders stall after OrderCreated, waiting for payment; one alert fires for all of them' },
  { atS: 150, fault: 'resume payment', see: 'the stalled orders move on; the alert resolves' },
  { atS: 200, fault: 'slow inventory 4000', see: 'orders go late after PaymentAuthorized' },
  { atS: 260, fault: 'fast inventory', see: 'inventory catches up' },
  { atS: 280, fault: 'drop-context on', see: 'shipping starts new traces: a propagation gap at shipping, healed by the order id' },
  { atS: 310, fault: 'drop-context off', see: '' },
  { atS: 320, fault: 'legacy-hop on', see: 'reservations pass through the uninstrumented warehouse: joined by key' },
  { atS: 350, fault: 'legacy-hop off', see: '' },
  { atS: 360, fault: 'redeliver notification 20', see: 'duplicate deliveries at notification (it is not idempotent)' },
  { atS: 380, fault: 'poison', see: 'an order payment cannot read: tried three times, dead-lettered, failed' },
  { atS: 420, fault: 'crash shipping', see: 'shipping is killed and restarted 5 s later; its orders wait, then complete' },
  { atS: 450, fault: 'lose-sends payment 3', see: 'payment handles three orders and sends nothing: stalled at once, "finished handling OrderCreated without sending it"' },
  { atS: 460, fault: 'pause payment', see: 'a backlog builds up for payment' },
  { atS: 468, fault: 'skip-backlog payment', see: 'payment jumps past the orders waiting for it (an offset reset): stalled as it handles later orders, "the group went past it"' },
  { atS: 470, fault: 'resume payment', see: '' },
];

/** The commands due in (fromS, toS] of the demo's time, cycles included. */
export function dueFaults(fromS: number, toS: number): Array<ScheduledFault & { commands: FaultCommand[] }> {
  const due: Array<ScheduledFault & { commands: FaultCommand[] }> = [];
  const firstCycle = Math.max(0, Math.floor(fromS / CYCLE_S));
  for (let cycle = firstCycle; cycle * CYCLE_S <= toS; cycle++) {
    for (const entry of SCHEDULE) {
      const at = cycle * CYCLE_S + entry.atS;
      if (at > fromS && at <= toS) due.push({ ...entry, commands: parseFault(entry.fault.split(' ')) });
    }
  }
  return due;
}
