/**
 * `npm run demo`, the README's first command, run as written (on free ports and a data directory of its
 * own, so a demo already running is left alone): it shows progress while starting, prints the dashboard's
 * address, which answers; `npm run demo:fault` reaches its services; and a Ctrl-C (SIGINT to its process
 * group, as a terminal sends it) stops it with nothing left running.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Teardown, waitFor } from '@choreoscope/test-support';
import { freePort } from '../../scripts/free-port.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every process descended from `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

test('npm run demo starts everything, shows the way to the dashboard, takes faults, and stops clean on Ctrl-C', { timeout: 240_000 }, async () => {
  const teardown = new Teardown();
  try {
    const dataDir = mkdtempSync(join(tmpdir(), 'choreoscope-demo-command-'));
    teardown.defer(() => rmSync(dataDir, { recursive: true, force: true }));
    const [port, brokerPort, orderPort] = [await freePort(), await freePort(), await freePort()];
    const demo = spawn('npm', ['run', 'demo', '--', '--no-faults', '--port', String(port), '--broker-port', String(brokerPort), '--order-port', String(orderPort), '--data-dir', dataDir], {
      cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    demo.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => demo.on('exit', (code, signal) => resolve({ code, signal })));
    teardown.defer(() => {
      try {
        process.kill(-demo.pid!, 'SIGKILL'); // the whole group, if anything of it is left after a failure
      } catch {
        // gone already
      }
    });

    const dashboard = `http://127.0.0.1:${port}/`;
    await waitFor(() => output.includes(`Dashboard:  ${dashboard}`), 180_000, () => `the dashboard's address; output so far:\n${output}`, 200);
    for (const step of ['starting the embedded Kafka broker', '✓ collector', '✓ payment-1', '✓ payment-2', '✓ warehouse', '✓ load-generator']) {
      assert.ok(output.includes(step), `progress: ${step}`);
    }
    const page = await fetch(dashboard);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>[^<]*Choreoscope/i);

    const fault = spawnSync('npm', ['run', '--silent', 'demo:fault', '--', 'pause', 'payment'], {
      cwd: root, env: { ...process.env, KAFKA_BROKERS: `127.0.0.1:${brokerPort}` }, encoding: 'utf8',
    });
    assert.equal(fault.status, 0, fault.stderr);
    assert.match(fault.stdout, /sent: pause payment/);
    await waitFor(() => ['payment-1', 'payment-2'].every((name) => readFileSync(join(dataDir, 'logs', `${name}.log`), 'utf8').includes('fault: pause payment')),
      30_000, 'both payment instances to pause', 200);
    const bad = spawnSync('npm', ['run', '--silent', 'demo:fault', '--', 'pause', 'billing'], { cwd: root, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown service "billing": one of order, payment/);

    const processes = descendants(demo.pid!);
    assert.ok(processes.length >= 9, `npm, the demo, the collector, 7 services and the load generator: ${processes.length}`);
    process.kill(-demo.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    // npm, interrupted too, waits for the demo and then ends by the same signal, as shells expect of it
    const { code, signal } = await exited;
    assert.ok(code === 0 || signal === 'SIGINT', `exit ${code ?? signal}\n${output.slice(-2000)}`);
    assert.match(output, /Ctrl-C: stopping every process…\n(.*\n)*stopped; nothing left running/);
    await waitFor(() => processes.every((pid) => !alive(pid)), 10_000, () => `every process gone; left: ${processes.filter(alive).join(', ')}`, 100);
  } finally {
    await teardown.run();
  }
});
