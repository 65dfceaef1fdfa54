import { createServer as createHttpServer, request, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A connection the proxy stopped forwarding at a byte count; `cut()` resets it (TCP RST). */
export interface HeldConnection {
  forwarded: number;
  cut(): void;
}

interface Plan {
  bytes: number;
  hold: boolean;
  done: (held: HeldConnection) => void;
}

/**
 * A loopback TCP proxy in front of the S3 server that breaks answers part-way, as a network does:
 * the next connection whose answer passes `bytes` is reset there (`cutAt`), or held there until
 * the test cuts it (`holdAt`), so the reader has consumed everything before the break.
 */
export class CuttingProxy {
  private readonly plans: Plan[] = [];
  private readonly sockets = new Set<Socket>();
  /** When each cut happened (ms since the epoch). */
  readonly cutTimes: number[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CuttingProxy> {
    let proxy: CuttingProxy | undefined;
    const server = createServer((client) => proxy!.accept(client, targetPort));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    proxy = new CuttingProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next answer that passes `bytes` is reset right there. */
  cutAt(bytes: number): Promise<HeldConnection> {
    return new Promise((done) => this.plans.push({ bytes, hold: false, done }));
  }

  /** The next answer that passes `bytes` stops there; resolves with it, for the test to cut. */
  holdAt(bytes: number): Promise<HeldConnection> {
    return new Promise((done) => this.plans.push({ bytes, hold: true, done }));
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    let forwarded = 0;
    let stopped = false;
    let holding = false;
    client.on('close', () => upstream.destroy());
    // A held answer stays held until the test cuts it, even when the server closes its side (an
    // answer it sent whole before closing the connection).
    upstream.on('close', () => {
      if (!holding) client.destroy();
    });
    const cut = () => {
      holding = false;
      this.cutTimes.push(Date.now());
      client.resetAndDestroy();
      upstream.destroy();
    };
    upstream.on('data', (chunk: Buffer) => {
      if (stopped) return;
      const plan = this.plans[0];
      if (plan && forwarded + chunk.length > plan.bytes) {
        this.plans.shift();
        stopped = true;
        holding = plan.hold;
        const head = chunk.subarray(0, plan.bytes - forwarded);
        forwarded += head.length;
        upstream.pause();
        client.write(head, () => {
          const held = { forwarded, cut };
          if (!plan.hold) cut();
          plan.done(held);
        });
        return;
      }
      forwarded += chunk.length;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((ok) => this.server.close(ok));
  }
}

/**
 * An HTTP proxy in front of the S3 server that answers 403 AccessDenied for one bucket, as a
 * bucket whose policy denies the installation's credentials does; everything else passes through.
 */
export class RefusingS3Proxy {
  refusals = 0;
  /** Requests for the bucket let through before the refusals start. */
  passFirst = 0;
  private passed = 0;

  private constructor(
    private readonly server: HttpServer,
    readonly port: number,
  ) {}

  static async start(target: string, deniedBucket: string): Promise<RefusingS3Proxy> {
    const to = new URL(target);
    let proxy: RefusingS3Proxy | undefined;
    const server = createHttpServer((req, res) => {
      const path = req.url ?? '/';
      const denied = path === `/${deniedBucket}` || path.startsWith(`/${deniedBucket}/`) || path.startsWith(`/${deniedBucket}?`);
      if (denied && proxy!.passed++ >= proxy!.passFirst) {
        proxy!.refusals++;
        req.resume();
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          req.method === 'HEAD'
            ? undefined
            : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>refusing-proxy</RequestId></Error>',
        );
        return;
      }
      const upstream = request({ host: to.hostname, port: to.port, method: req.method, path, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    proxy = new RefusingS3Proxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((ok) => this.server.close(ok));
  }
}
