/**
 * One collector per PGlite data directory: PGlite runs PostgreSQL inside the process, and two processes
 * on one directory write the same files unaware of each other, which corrupts them. A lock file in the
 * directory names the holder (as PostgreSQL's postmaster.pid does); one left by a process that is gone
 * (killed with SIGKILL) is taken over.
 *
 * "Gone" must survive PID reuse: a collector restarted in a container often gets its old PID (1) back,
 * and any other process may have the PID by then. So the lock records the process's start time and the
 * boot it started in, as Linux reports them, and a holder is alive only if a process with that PID,
 * start and boot runs; a lock naming this very process is alive only if this process took it.
 */
import { closeSync, existsSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'choreoscope.pid';

/** Lock files this process holds. */
const held = new Set<string>();

export class DataDirInUseError extends Error {
  constructor(dataDir: string, holder: string) {
    super(`the data directory ${dataDir} is in use by another collector (${holder}): stop it, or give this one another --data-dir `
      + `(if no collector runs there, delete ${join(dataDir, LOCK_FILE)})`);
    this.name = 'DataDirInUseError';
  }
}

interface Holder {
  pid: number;
  host: string;
  since: string;
  /** The process's start, in clock ticks since boot, and the boot's id (Linux); '' where unknown. */
  start: string;
  boot: string;
}

/** Takes the directory for this process; returns what lets it go. Throws DataDirInUseError when another process holds it. */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt += 1) {
    try {
      const fd = openSync(path, 'wx');
      const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), start: processStart(process.pid), boot: bootId() };
      writeSync(fd, [me.pid, me.host, me.since, me.start, me.boot].join('\n') + '\n');
      closeSync(fd);
      held.add(path);
      return () => {
        held.delete(path);
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 1) throw error;
    }
    const text = readLock(path);
    const holder = parse(text);
    const describe = `pid ${holder.pid} on ${holder.host}, since ${holder.since}`;
    // a lock from another machine (a shared file system) cannot be checked: it holds
    if (holder.host !== hostname() || isAlive(holder, path)) throw new DataDirInUseError(dataDir, describe);
    takeOver(path, text, dataDir, describe);
  }
}

/**
 * Moves a stale lock aside in one step. If what was moved is not the lock judged stale (another collector
 * took it over meanwhile and wrote its own), it is put back, and this collector gives way.
 */
function takeOver(path: string, staleText: string, dataDir: string, describe: string): void {
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it: try again
    throw error;
  }
  if (readLock(aside) !== staleText) {
    try {
      linkSync(aside, path); // put it back, unless a newer one is there already
    } catch {
      // a newer lock is in place: it holds either way
    }
    rmSync(aside, { force: true });
    throw new DataDirInUseError(dataDir, describe);
  }
  rmSync(aside, { force: true });
}

function readLock(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function parse(text: string): Holder {
  const [pid = '', host = '', since = '', start = '', boot = ''] = text.split('\n');
  return { pid: Number(pid), host, since, start, boot };
}

function isAlive(holder: Holder, path: string): boolean {
  const { pid } = holder;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return held.has(path); // this process, or a former one that had its PID
  if (holder.boot !== '' && bootId() !== '' && holder.boot !== bootId()) return false; // the machine restarted since
  const start = processStart(pid);
  if (holder.start !== '' && start !== '') return start === holder.start; // that PID, but is it that process?
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** When the process started, in clock ticks since boot (field 22 of Linux's /proc/<pid>/stat); '' where unknown. */
function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name, in parentheses, may hold spaces: fields are counted after its closing one
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function bootId(): string {
  try {
    return existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : '';
  } catch {
    return '';
  }
}
