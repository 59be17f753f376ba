/**
 * Whether the collector can listen where it is told to, asked before the store is opened: opening PGlite
 * takes seconds and takes the data directory's lock, so a collector started on a port in use would hold
 * both only to fail afterwards with Node's stack trace. The port is bound for a moment and let go; the
 * real listen can still lose a race for it, and then says so the same way, in one line.
 */
import { createServer } from 'node:net';

/** Resolves with the error binding `host:port` gives, or null when it can be bound. Port 0 (any free port) always can. */
export async function tryListen(host: string, port: number): Promise<Error | null> {
  if (port === 0) return null;
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', resolve);
    server.listen({ host, port }, () => server.close(() => resolve(null)));
  });
}

/** The one line saying why the collector cannot listen on `host:port`, and what to change. */
export function cannotListen(error: Error, host: string, port: number): string {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is already in use (another collector? pick another with --port or CHOREOSCOPE_PORT)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (${port < 1024 ? 'ports below 1024 need privileges; ' : ''}pick another with --port or CHOREOSCOPE_PORT)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: no network interface here has that address (pick another with --host or CHOREOSCOPE_HOST)`;
    case 'ENOTFOUND':
      return `cannot listen on ${where}: the host name does not resolve (pick another with --host or CHOREOSCOPE_HOST)`;
    default:
      return `cannot listen on ${where}: ${error.message}`;
  }
}
