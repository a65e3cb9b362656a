import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { ConnectionGuard } from './connection-limits.js';

export interface DrainResult {
  /** Connections still busy when the grace period ended, closed mid-request. */
  cut: number;
  ms: number;
}

/**
 * Stops taking work without cutting what was accepted: /readyz answers 503 from now on, the
 * listener closes (new connections are refused), idle connections close, and the server waits for
 * every request in progress to end, up to `graceMs`; then it closes whatever is left.
 */
export async function drainServer(server: Server, guard: ConnectionGuard, graceMs: number, log: Logger): Promise<DrainResult> {
  const started = Date.now();
  guard.startDraining();
  const allClosed = new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
  log.info({ connections: guard.size, graceMs }, 'draining: no new connections, waiting for requests in progress');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace-over'>((resolve) => {
    timer = setTimeout(() => resolve('grace-over'), graceMs);
  });
  const outcome = await Promise.race([allClosed.then(() => 'drained' as const), graceOver]);
  clearTimeout(timer);
  let cut = 0;
  if (outcome === 'grace-over') {
    cut = guard.destroyAll();
    server.closeAllConnections();
    log.warn({ cut, graceMs }, 'grace period over: closed connections with requests still in progress');
    await allClosed;
  }
  const ms = Date.now() - started;
  log.info({ ms, cut }, 'drained');
  return { cut, ms };
}
