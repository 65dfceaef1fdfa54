import type { Server } from 'node:http';

/**
 * Stops `server` accepting connections and resolves once every request in flight has had its
 * answer; idle keep-alive connections are closed at once, and any connection still busy after
 * `timeoutMs` (a client reading a report slowly) is cut so the process can exit.
 */
export function closeGracefully(server: Server, timeoutMs: number): Promise<{ cut: boolean }> {
  return new Promise((resolve) => {
    let cut = false;
    const timer = setTimeout(() => {
      cut = true;
      server.closeAllConnections();
    }, timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve({ cut });
    });
    server.closeIdleConnections();
  });
}
