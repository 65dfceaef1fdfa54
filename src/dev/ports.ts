import { createServer, type AddressInfo, type Server } from 'node:net';

/** `preferred` when it is free on 127.0.0.1, otherwise any free port. */
export async function freePort(preferred = 0): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        const got = typeof addr === 'object' && addr ? addr.port : undefined;
        srv.close(() => resolve(got));
      });
    });
  if (preferred) {
    const got = await tryListen(preferred);
    if (got) return got;
  }
  const got = await tryListen(0);
  if (!got) throw new Error('no free TCP port on 127.0.0.1');
  return got;
}

/** `n` distinct free ports: each is held until all are chosen, so no two are the same. */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      held.push(srv);
    }
    return held.map((srv) => (srv.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((srv) => new Promise((resolve) => srv.close(resolve))));
  }
}

export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The ports a dev run used, kept in a JSON file under the data folder so the next run takes the
 * same ones: an SMTP/IMAP account pointing at the dev sink or Dovecot, or a bookmarked Temporal
 * UI, keeps working across restarts. A remembered port that is taken now is replaced by a free
 * one, and `notes` says which.
 */
export async function rememberedPorts(file: string): Promise<{
  /** The port `name` used last time, else `fallback`, when it is free; otherwise a free one. */
  take(name: string, label: string, fallback: number): Promise<number>;
  /** The port `name` used last time, else `fallback` (for a part that tries its port itself). */
  preferred(name: string, fallback: number): number;
  /** Records the port `name` listens on, with a note when it is not the one it preferred. */
  used(name: string, label: string, fallback: number, port: number): void;
  /** One line per port that was taken and replaced. */
  notes: string[];
  save(): Promise<void>;
}> {
  const { readFile, writeFile } = await import('node:fs/promises');
  let last: Record<string, number> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (parsed && typeof parsed === 'object') {
      for (const [k, v] of Object.entries(parsed)) if (Number.isInteger(v) && v > 0 && v < 65536) last[k] = v as number;
    }
  } catch {
    last = {}; // none yet, or unreadable: the defaults
  }
  const now: Record<string, number> = { ...last };
  const notes: string[] = [];
  const preferred = (name: string, fallback: number) => last[name] ?? fallback;
  const used = (name: string, label: string, fallback: number, port: number) => {
    const wanted = preferred(name, fallback);
    if (port !== wanted) notes.push(`${label} port ${wanted} is taken: ${label} is on ${port} this time`);
    now[name] = port;
  };
  return {
    preferred,
    used,
    notes,
    async take(name, label, fallback) {
      const port = await freePort(preferred(name, fallback));
      used(name, label, fallback, port);
      return port;
    },
    save: () => writeFile(file, `${JSON.stringify(now, null, 2)}\n`),
  };
}
