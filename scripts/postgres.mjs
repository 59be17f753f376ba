// A throwaway PostgreSQL cluster for the tests: initdb in a temp directory, a server on a free loopback
// port (its unix socket in that directory too), one database, then stop and remove. scripts/test.mjs
// starts one for the whole run; collector/test/stores.ts starts one when a test file runs on its own.
// PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user.
//
// By hand: `node scripts/postgres.mjs` prints a cluster's URL and removes the cluster on Ctrl-C.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from './free-port.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const POSTGRES_VERSION = '15';
const DEBIAN_ROOT = '/usr/lib/postgresql';
const OWNER = 'postgres';
const asRoot = process.getuid?.() === 0;
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'].find((path) => existsSync(path)) ?? 'runuser'; // root's PATH may lack sbin

/** The directory of initdb and pg_ctl: Debian's for version 15, else its newest, else pg_config's; undefined when none. */
export function findPostgresBinDir() {
  const versions = existsSync(DEBIAN_ROOT) ? readdirSync(DEBIAN_ROOT).filter((v) => /^\d+$/.test(v)) : [];
  versions.sort((a, b) => (a === POSTGRES_VERSION ? -1 : b === POSTGRES_VERSION ? 1 : Number(b) - Number(a)));
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dirs = [...versions.map((v) => join(DEBIAN_ROOT, v, 'bin')), ...(pgConfig.status === 0 ? [pgConfig.stdout.trim()] : [])];
  return dirs.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/** The binaries' directory; when there are none and `install` allows, installs postgresql-15 with apt-get (root on Debian). */
export function ensurePostgres({ install = true, log = console.log } = {}) {
  const found = findPostgresBinDir();
  if (found !== undefined) return found;
  const how = `install PostgreSQL ${POSTGRES_VERSION} (Debian: apt-get install postgresql-${POSTGRES_VERSION}) or run \`node scripts/test.mjs\` as root`;
  if (!install || !asRoot || !existsSync('/usr/bin/apt-get')) throw new Error(`PostgreSQL's initdb and pg_ctl are not installed: ${how}`);
  log(`PostgreSQL's binaries not found: installing postgresql-${POSTGRES_VERSION} with apt-get`);
  for (const args of [['update'], ['install', '-y', `postgresql-${POSTGRES_VERSION}`]]) {
    log(`apt-get ${args.join(' ')}`);
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`apt-get ${args[0]} failed (${result.status ?? result.error?.message}): ${how}`);
  }
  const installed = findPostgresBinDir();
  if (installed === undefined) throw new Error(`apt-get installed postgresql-${POSTGRES_VERSION} but initdb is not under ${DEBIAN_ROOT}`);
  log(`installed PostgreSQL in ${installed}`);
  return installed;
}

/** The command line that runs a PostgreSQL binary as the cluster's owner. */
function asOwner(binDir, command, args) {
  return asRoot ? [RUNUSER, ['-u', OWNER, '--', join(binDir, command), ...args]] : [join(binDir, command), args];
}

/** Runs a PostgreSQL binary as the cluster's owner; throws with its output when it fails. */
function runAsOwner(binDir, command, args, cwd) {
  const result = spawnSync(...asOwner(binDir, command, args), { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.error?.message}):\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
}

/**
 * initdb, start on a free loopback port, create `database`. Resolves with the cluster: `url` (the
 * database's), `stop(mode)` and `start()` to take the server away and bring it back with its data, and
 * `remove()` (synchronous, quiet, safe in an 'exit' handler) to stop it and delete everything.
 */
export async function startPostgresCluster({ database = 'choreoscope', install = true, log = () => {} } = {}) {
  const binDir = ensurePostgres({ install, log });
  const dir = mkdtempSync(join(tmpdir(), 'choreoscope-postgres-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const remove = () => {
    spawnSync(...asOwner(binDir, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']), { cwd: dir, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (asRoot) spawnSync('chown', [OWNER, dir]);
    runAsOwner(binDir, 'initdb', ['-D', data, '-U', OWNER, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], dir);
    let port = 0;
    const start = () => runAsOwner(binDir, 'pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '30', '-o',
      // loopback only, no fsync: a test cluster lives for one run
      `-c listen_addresses=127.0.0.1 -p ${port} -k '${dir}' -c fsync=off -c max_connections=200`], dir);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        start();
        break;
      } catch (error) {
        // another process may have taken the port between our look and the server's bind
        if (attempt === 3) throw new Error(`${error.message}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
      }
    }
    const createdb = spawnSync(join(binDir, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', OWNER, database], { encoding: 'utf8' });
    if (createdb.status !== 0) throw new Error(`createdb ${database} failed: ${createdb.stderr}`);
    return {
      url: `postgres://${OWNER}@127.0.0.1:${port}/${database}`,
      port,
      dir,
      /** Stops the server: 'fast' (clients told, a checkpoint) or 'immediate' (as a crash: recovery on start). */
      stop: (mode = 'fast') => runAsOwner(binDir, 'pg_ctl', ['stop', '-D', data, '-m', mode, '-w'], dir),
      start,
      remove,
    };
  } catch (error) {
    remove();
    throw error;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cluster = await startPostgresCluster({ log: console.log });
  console.log(`PostgreSQL at ${cluster.url} (in ${cluster.dir}); Ctrl-C stops and removes it`);
  process.on('exit', cluster.remove);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
  setInterval(() => {}, 1 << 30);
}
