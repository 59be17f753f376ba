// A server under benchmark in a process of its own, started from its command line: the collector's CLI
// or the bare baseline server. Both print `… listening on http://host:port …` once ready.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  url: string;
  pid: number;
  /** SIGTERM, then waits for the exit (the collector commits what it acknowledged and closes its store). */
  stop(): Promise<void>;
}

const LISTENING = /listening on (http:\/\/\S+)/;

export async function startServerProcess(args: string[], name: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // its log is not part of the benchmark; the last lines are kept to explain a failed start
  const lastLines: string[] = [];
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      lastLines.push(line);
      if (lastLines.length > 20) lastLines.shift();
      const match = LISTENING.exec(line);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`${name} exited with ${code} before listening:\n${lastLines.join('\n')}`)));
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`${name} exited with ${code} on SIGTERM:\n${lastLines.join('\n')}`);
    },
  };
}
