// Whether `npm ci` has run since package-lock.json last changed: npm writes node_modules/.package-lock.json
// at each install, so a lock newer than it means the installed tree may be stale.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function dependenciesAreCurrent(root) {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return false;
  return statSync(marker).mtimeMs >= statSync(join(root, 'package-lock.json')).mtimeMs;
}
