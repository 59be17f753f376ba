/**
 * Runs one demo process as a child: its output to a log file (the terminal shows the demo's own progress,
 * not eight services' chatter), restarted 5 s after it dies unexpectedly (as a container runtime's restart
 * policy would), stopped with SIGTERM and, if it lingers, SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ProcessSpec {
  /** The name in logs and progress: `payment-2`. */
  name: string;
  /** Arguments to `node`. */
  args: string[];
  env: Record<string, string>;
  logFile: string;
  /** A line of its output that says it is ready. */
  readyWhen: RegExp;
}

export interface SupervisorEvents {
  ready(name: string, match: RegExpMatchArray): void;
  exited(name: string, code: number | null, signal: NodeJS.Signals | null, restarting: boolean): void;
}

const EXIT_WITH_PARENT = fileURLToPath(new URL('./exit-with-parent.mjs', import.meta.url));

/**
 * The demo's environment without the OpenTelemetry and Choreoscope settings a user may have exported for
 * something else: `OTEL_SERVICE_NAME` would rename every service, `CHOREOSCOPE_API_TOKEN` lock the status out.
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_') && !name.startsWith('CHOREOSCOPE_')));
}

/** Every child still running: killed if the demo itself exits without stopping them (an uncaught error). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export const RESTART_AFTER_MS = 5_000;
const KILL_AFTER_MS = 12_000;

export class Supervisor {
  readonly #spec: ProcessSpec;
  readonly #events: SupervisorEvents;
  readonly #log: WriteStream;
  #child: ChildProcess | null = null;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | null = null;
  #ready = false;
  /** Resolves once, the first time the process says it is ready, with the line's match. */
  readonly firstReady: Promise<RegExpMatchArray>;
  #resolveReady!: (match: RegExpMatchArray) => void;
  #rejectReady!: (error: Error) => void;
  #everReady = false;
  /** The end of its output, for saying why it did not start. */
  #tail = '';

  constructor(spec: ProcessSpec, events: SupervisorEvents) {
    this.#spec = spec;
    this.#events = events;
    this.#log = createWriteStream(spec.logFile, { flags: 'a' });
    this.firstReady = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.firstReady.catch(() => {}); // a caller that never waits must not see an unhandled rejection
  }

  get name(): string { return this.#spec.name; }
  get pid(): number | undefined { return this.#child?.pid; }

  start(): void {
    this.#ready = false;
    const child = spawn(process.execPath, ['--import', EXIT_WITH_PARENT, ...this.#spec.args], {
      env: { ...inheritedEnv(), ...this.#spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal reaches the demo alone, which then stops the
      // processes in order (load first, collector last) instead of all at once.
      detached: true,
    });
    live.add(child);
    child.on('exit', () => live.delete(child));
    this.#child = child;
    let pending = '';
    const onOutput = (chunk: Buffer) => {
      this.#log.write(chunk);
      if (!this.#everReady) this.#tail = (this.#tail + chunk.toString()).slice(-2000);
      if (this.#ready) return;
      pending = (pending + chunk.toString()).slice(-4096);
      const match = this.#spec.readyWhen.exec(pending);
      if (match !== null) {
        this.#ready = true;
        this.#everReady = true;
        this.#resolveReady(match);
        this.#events.ready(this.#spec.name, match);
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.on('exit', (code, signal) => {
      this.#child = null;
      if (!this.#everReady && !this.#stopping) {
        // it never started: restarting would only repeat what went wrong
        this.#stopping = true;
        const last = this.#tail.trim().split('\n').slice(-5).join('\n');
        this.#rejectReady(new Error(`${this.#spec.name} exited (${signal ?? `code ${code}`}) before it was ready:\n${last}`));
        return;
      }
      const restarting = !this.#stopping;
      this.#events.exited(this.#spec.name, code, signal, restarting);
      if (restarting) this.#restartTimer = setTimeout(() => this.start(), RESTART_AFTER_MS);
    });
  }

  /** No restart from now on (the demo is stopping; the process will be stopped in its turn). */
  markStopping(): void {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
  }

  /** Stops it for good: SIGTERM, then SIGKILL if it has not exited after 12 s. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child !== null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(killer);
    }
    await new Promise<void>((resolve) => this.#log.end(() => resolve()));
  }
}
