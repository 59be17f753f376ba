#!/usr/bin/env node
// Builds the dashboard into dist/: the views bundled by esbuild (d3 and all, nothing from a CDN, so it
// works offline), with the page and its stylesheet. The collector serves dist/ at `/`.
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const started = Date.now();
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  outfile: join(dist, 'app.js'),
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css']) copyFileSync(join(here, 'static', file), join(dist, file));
const kib = (file) => (statSync(join(dist, file)).size / 1024).toFixed(0);
console.log(`dashboard built into ${dist} in ${Date.now() - started} ms (app.js ${kib('app.js')} KiB, app.css ${kib('app.css')} KiB)`);
