/**
 * One collector per PGlite data directory: PGlite runs PostgreSQL inside the process, and two processes
 * on one directory write the same files unaware of each other, which corrupts them. A lock file in the
 * directory names the holder (as PostgreSQL's postmaster.pid does); one left by a process that is gone
 * (killed with SIGKILL) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'choreoscope.pid';

export class DataDirInUseError extends Error {
  constructor(dataDir: string, holder: string) {
    super(`the data directory ${dataDir} is in use by another collector (${holder}): stop it, or give this one another --data-dir `
      + `(if no collector runs there, delete ${join(dataDir, LOCK_FILE)})`);
    this.name = 'DataDirInUseError';
  }
}

/** Takes the directory for this process; returns what lets it go. Throws DataDirInUseError when another process holds it. */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt += 1) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n${hostname()}\n${new Date().toISOString()}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const [pid = '', host = '', since = ''] = readLock(path).split('\n');
    const holder = `pid ${pid} on ${host}, since ${since}`;
    // a lock from another machine (a shared file system) cannot be checked: it holds
    if (host !== hostname() || isAlive(Number(pid))) throw new DataDirInUseError(dataDir, holder);
    rmSync(path, { force: true }); // its holder is gone
  }
}

function readLock(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true; // this process opened it already
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}
