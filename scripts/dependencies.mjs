// What a checkout needs before its code runs: the dependencies installed since package-lock.json last
// changed, and the packages that are built (the instrumentation, the dashboard) built since their sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** npm writes node_modules/.package-lock.json at each install: a lock newer than it means a stale tree. */
export function dependenciesAreCurrent(root) {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return false;
  return statSync(marker).mtimeMs >= statSync(join(root, 'package-lock.json')).mtimeMs;
}

/** Whether the workspace `pkg` has no dist/ yet, or sources newer than it (a `git pull` brings sources, not builds). */
export function buildIsStale(root, pkg) {
  return newest(join(root, pkg, 'dist')) < newest(join(root, pkg, 'src'));
}

/** The newest modification time of the files under `dir`, in ms; 0 when it does not exist. */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    // `parentPath` arrived in Node 20.12; `path` is its older name
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return latest;
}
