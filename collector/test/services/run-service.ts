/** A service script of this folder as a process of its own, as services run: resolves once it exits 0. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServiceRun {
  done: Promise<void>;
  kill(): void;
}

export function runService(script: string, env: Record<string, string>): ServiceRun {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const done = new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${env.ROLE ?? script} exited with ${code ?? signal}:\n${output}`))));
  });
  return { done, kill: () => child.kill('SIGKILL') };
}
