// Creates a PGlite database cluster in the directory given as the only argument, then exits. Run as a
// child process by pglite-store.ts: initdb grows PGlite's WebAssembly memory to about 800 MiB, which a
// process never gets back, so the collector leaves that to a process that is gone once it is done.
import { PGlite } from '@electric-sql/pglite';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: pglite-initdb.mjs DATA_DIR\n');
  process.exit(2);
}
const db = await PGlite.create({ dataDir });
await db.close();
