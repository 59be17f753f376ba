// Loaded into every process the demo starts (`node --import`): when the demo itself is gone — killed, or
// its terminal closed — the process stops too, instead of living on and holding its port. Plain
// JavaScript, so it loads before any TypeScript loader.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM'); // reparented: the demo is gone
}, 1_000).unref();
