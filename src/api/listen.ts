import type { Server } from 'node:http';
import type { Express } from 'express';

/**
 * Listens, or fails with the reason. Express 5 hands a listen error (the port is taken) to the
 * callback instead of throwing it: a callback that ignores its argument says "listening" while
 * nothing listens (the API then exited 0; the dev stack printed the port as its own while
 * whatever held it answered in its place).
 */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      else resolve(server);
    });
  });
}
