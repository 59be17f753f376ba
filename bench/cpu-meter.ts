import type { ChildProcess } from 'node:child_process';

/** CPU seconds used by this process or by a child that answers 'cpu' over IPC (see broker-process.ts). */
export type CpuReader = () => Promise<number>;

export const ownCpu: CpuReader = async () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

export function childCpu(child: ChildProcess): CpuReader {
  return () =>
    new Promise((resolve) => {
      const onMessage = (message: { cpu?: NodeJS.CpuUsage }) => {
        if (!message.cpu) return;
        child.off('message', onMessage);
        resolve((message.cpu.user + message.cpu.system) / 1e6);
      };
      child.on('message', onMessage);
      child.send('cpu');
    });
}

/** Runs `work` and reports its wall time and the CPU each reader's process spent meanwhile. */
export async function measure<T>(readers: Record<string, CpuReader>, work: () => Promise<T>) {
  const names = Object.keys(readers);
  const before = await Promise.all(names.map((n) => readers[n]!()));
  const started = process.hrtime.bigint();
  const result = await work();
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = await Promise.all(names.map((n) => readers[n]!()));
  const cpuSeconds = Object.fromEntries(names.map((n, i) => [n, after[i]! - before[i]!]));
  return { result, wallSeconds, cpuSeconds };
}
