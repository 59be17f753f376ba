// CPU time and peak memory of another process, read from Linux's /proc: the collector runs from its own
// CLI, which answers no IPC, and PostgreSQL's work is spread over the postmaster's children.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import type { CpuReader } from './cpu-meter.ts';

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface ProcStat {
  ppid: number;
  /** utime + stime, in seconds */
  ownSeconds: number;
  /** cutime + cstime: children that exited and were waited for, in seconds */
  reapedChildrenSeconds: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
  // the command name, in parentheses, may hold spaces: fields are counted after its closing one
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
  const field = (n: number) => fields[n - 3] ?? 0; // stat(5) numbers fields from 1; the state is field 3
  return { ppid: field(4), ownSeconds: (field(14) + field(15)) / TICKS_PER_SECOND, reapedChildrenSeconds: (field(16) + field(17)) / TICKS_PER_SECOND };
}

/** CPU seconds the process has used so far. */
export function processCpu(pid: number): CpuReader {
  return async () => procStat(pid)?.ownSeconds ?? Number.NaN;
}

/** CPU seconds a process and all its children (live or exited) have used: PostgreSQL's postmaster and backends. */
export function processTreeCpu(pid: number): CpuReader {
  return async () => {
    const root = procStat(pid);
    if (root === undefined) return Number.NaN;
    let seconds = root.ownSeconds + root.reapedChildrenSeconds;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const child = procStat(Number(entry));
      if (child?.ppid === pid) seconds += child.ownSeconds;
    }
    return seconds;
  };
}

/** The process's peak resident set size so far (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}
