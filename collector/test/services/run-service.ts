/**
 * A service script of this folder as a process of its own, as services run: `done` resolves once it
 * exits 0, `ready` once it prints a line `ready` (a consumer, once its group has given it partitions).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServiceRun {
  done: Promise<void>;
  ready: Promise<void>;
  kill(): void;
}

export function runService(script: string, env: Record<string, string>): ServiceRun {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let signalReady = () => {};
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text;
    if (/^ready$/m.test(output)) signalReady();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${env.ROLE ?? script} exited with ${code ?? signal}:\n${output}`))));
  });
  // a service that exits before it is ready fails `ready` with its output; handled here, as a service
  // nobody waits on (a producer) never prints it
  const readyOrExit = Promise.race([ready, done.then(() => {
    throw new Error(`${env.ROLE ?? script} exited before it was ready:\n${output}`);
  })]);
  readyOrExit.catch(() => {});
  return { done, ready: readyOrExit, kill: () => child.kill('SIGKILL') };
}
