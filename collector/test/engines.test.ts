import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { minVersion, satisfies } from 'semver';

interface LockEntry {
  version?: string;
  optional?: boolean;
  engines?: { node?: string };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const declared = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { engines: { node: string } }).engines.node;
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as { packages: Record<string, LockEntry> };

// the lowest release of each Node line the project declares: "^20.6.0 || >=22.0.0" gives 20.6.0 and 22.0.0
const lowestSupported = declared.split('||').map((line) => minVersion(line)!.version);

test('every package the lockfile installs runs on the lowest release of each Node line the project supports', () => {
  assert.deepEqual(lowestSupported, ['20.6.0', '22.0.0']);
  const refusing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const wanted = entry.engines?.node;
    if (wanted === undefined) continue;
    // another platform's binaries (esbuild's, fsevents) are never installed here
    if (entry.optional === true && !existsSync(`${ROOT}${path}`)) continue;
    const refused = lowestSupported.filter((node) => !satisfies(node, wanted));
    if (refused.length > 0) refusing.push(`${path}@${entry.version} wants node ${wanted}, not ${refused.join(' or ')}`);
  }
  assert.deepEqual(refusing, [], 'pin a version that runs on both lines under "overrides" in package.json');
});
