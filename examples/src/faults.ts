/**
 * The faults the demo can inject, as commands on the control topic. Switches (pause, slow, drop-context,
 * legacy-hop) are state: every process folds all commands ever sent into its current faults, so a
 * restarted service comes back with the faults in force. One-shot commands (crash, redeliver, poison,
 * lose-sends, skip-backlog) act only on processes that were already running when they were sent. Pure: no I/O.
 */

/** The demo's instrumented services, which take faults (the warehouse takes none: nothing watches it). */
export const SERVICES = ['order', 'payment', 'inventory', 'shipping', 'notification'] as const;
export type ServiceName = (typeof SERVICES)[number];

export type FaultCommand =
  /** Stop (or resume) a service's consumers: its orders stall, waiting for what it would send. */
  | { kind: 'pause'; service: ServiceName; on: boolean }
  /** Delay each of a service's handlings by `delayMs` (0 ends it; at most MAX_SLOW_MS): late flows. */
  | { kind: 'slow'; service: ServiceName; delayMs: number }
  /** Kill the service at once, as the kernel's OOM killer would; its supervisor restarts it. */
  | { kind: 'crash'; service: ServiceName }
  /** Inventory's messages lose their headers on the way to shipping: a propagation gap, healed by key. */
  | { kind: 'drop-context'; on: boolean }
  /** A service's consumers go back `count` messages on every partition: duplicate deliveries. */
  | { kind: 'redeliver'; service: ServiceName; count: number }
  /** The next `count` orders carry an amount payment cannot read: retried, then dead-lettered (`orders.dlq`). */
  | { kind: 'poison'; service: 'order'; count: number }
  /** Each of the service's instances: its next `count` handlings send nothing, as a bug that swallows events: those orders stop there. */
  | { kind: 'lose-sends'; service: ServiceName; count: number }
  /**
   * A service's consumers jump to the end of every partition they read, passing over the messages waiting
   * there, as an operator resetting a group to the latest offset to get past a backlog: those orders stop.
   */
  | { kind: 'skip-backlog'; service: ServiceName }
  /** Reservations pass through the uninstrumented warehouse system before shipping. */
  | { kind: 'legacy-hop'; on: boolean };

/** A command as sent on the control topic. */
export interface ControlMessage {
  command: FaultCommand;
  /** When it was sent (ms since the epoch): one-shot commands older than a process are not for it. */
  at: number;
}

/** The switches in force. */
export interface FaultState {
  paused: Set<ServiceName>;
  slowMs: Map<ServiceName, number>;
  dropContext: boolean;
  legacyHop: boolean;
}

/**
 * The longest handling delay: kafkajs heartbeats between messages, and a member silent past its session
 * timeout (10 s in the demo) is taken out of its group, which would turn a slow step into rebalances.
 */
export const MAX_SLOW_MS = 8_000;

/** One-shot commands: they act once, on the processes running when they are sent. */
export function isOneShot(command: FaultCommand): boolean {
  return command.kind === 'crash' || command.kind === 'redeliver' || command.kind === 'poison' || command.kind === 'lose-sends' || command.kind === 'skip-backlog';
}

export function noFaults(): FaultState {
  return { paused: new Set(), slowMs: new Map(), dropContext: false, legacyHop: false };
}

/** Folds a switch into `state`; one-shot commands leave it as it is. */
export function applyCommand(state: FaultState, command: FaultCommand): FaultState {
  switch (command.kind) {
    case 'pause':
      if (command.on) state.paused.add(command.service);
      else state.paused.delete(command.service);
      return state;
    case 'slow':
      if (command.delayMs > 0) state.slowMs.set(command.service, command.delayMs);
      else state.slowMs.delete(command.service);
      return state;
    case 'drop-context': state.dropContext = command.on; return state;
    case 'legacy-hop': state.legacyHop = command.on; return state;
    case 'crash':
    case 'redeliver':
    case 'poison':
    case 'lose-sends':
    case 'skip-backlog':
      return state;
  }
}

/** What `npm run demo:fault -- …` accepts, one line each. */
export const FAULT_USAGE = [
  'pause <service> | resume <service>     stop or restart a service\'s consumers (orders stall)',
  `slow <service> <ms> | fast <service>   delay each handling, up to ${MAX_SLOW_MS} ms (late flows)`,
  'crash <service>                        kill it (every instance); it is restarted 5 s later',
  'drop-context on|off                    inventory → shipping loses its trace headers (a propagation gap)',
  'redeliver <service> [count]            re-read the last count messages of each partition (default 20)',
  'poison [count]                         the next orders (default 1) carry an amount payment cannot read',
  'lose-sends <service> [count]           the next handlings (default 3) of each instance send nothing (lost events)',
  'skip-backlog <service>                 jump to the end of every partition, passing over what waits (an offset reset)',
  'legacy-hop on|off                      reservations pass through an uninstrumented service',
  'clear                                  every switch off',
].join('\n');

/** Parses the words after `demo:fault` into commands (`clear` is several). Throws with a usable message. */
export function parseFault(words: readonly string[]): FaultCommand[] {
  const [verb, arg, extra] = words;
  const service = (): ServiceName => {
    if (!SERVICES.includes(arg as ServiceName)) throw new Error(`unknown service ${JSON.stringify(arg ?? '')}: one of ${SERVICES.join(', ')}`);
    return arg as ServiceName;
  };
  const onOff = (): boolean => {
    if (arg !== 'on' && arg !== 'off') throw new Error(`${verb} takes on or off, not ${JSON.stringify(arg ?? '')}`);
    return arg === 'on';
  };
  const count = (text: string | undefined, fallback: number, what: string, max: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${what} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}`);
    return n;
  };
  switch (verb) {
    case 'pause': return [{ kind: 'pause', service: service(), on: true }];
    case 'resume': return [{ kind: 'pause', service: service(), on: false }];
    case 'slow': {
      const s = service();
      if (extra === undefined) throw new Error('slow takes a delay in ms: slow inventory 4000');
      return [{ kind: 'slow', service: s, delayMs: count(extra, 0, 'the delay in ms', MAX_SLOW_MS) }];
    }
    case 'fast': return [{ kind: 'slow', service: service(), delayMs: 0 }];
    case 'crash': return [{ kind: 'crash', service: service() }];
    case 'drop-context': return [{ kind: 'drop-context', on: onOff() }];
    case 'redeliver': {
      const s = service();
      return [{ kind: 'redeliver', service: s, count: count(extra, 20, 'the count', 10_000) }];
    }
    case 'poison': return [{ kind: 'poison', service: 'order', count: count(arg, 1, 'the count', 100) }];
    case 'lose-sends': {
      const s = service();
      return [{ kind: 'lose-sends', service: s, count: count(extra, 3, 'the count', 1_000) }];
    }
    case 'skip-backlog': return [{ kind: 'skip-backlog', service: service() }];
    case 'legacy-hop': return [{ kind: 'legacy-hop', on: onOff() }];
    case 'clear':
      return [
        ...SERVICES.map((s): FaultCommand => ({ kind: 'pause', service: s, on: false })),
        ...SERVICES.map((s): FaultCommand => ({ kind: 'slow', service: s, delayMs: 0 })),
        { kind: 'drop-context', on: false }, { kind: 'legacy-hop', on: false },
      ];
    default:
      throw new Error(`unknown fault ${JSON.stringify(verb ?? '')}; one of:\n${FAULT_USAGE}`);
  }
}

/** One line for logs: `pause payment`, `slow inventory 4000 ms`. */
export function describeCommand(command: FaultCommand): string {
  switch (command.kind) {
    case 'pause': return `${command.on ? 'pause' : 'resume'} ${command.service}`;
    case 'slow': return command.delayMs > 0 ? `slow ${command.service} ${command.delayMs} ms` : `fast ${command.service}`;
    case 'crash': return `crash ${command.service}`;
    case 'redeliver': return `redeliver ${command.service} (${command.count})`;
    case 'poison': return `poison (the next ${command.count === 1 ? 'order' : `${command.count} orders`})`;
    case 'lose-sends': return `lose-sends ${command.service} (the next ${command.count === 1 ? 'handling' : `${command.count} handlings`})`;
    case 'skip-backlog': return `skip-backlog ${command.service}`;
    default: return `${command.kind} ${command.on ? 'on' : 'off'}`;
  }
}
