import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export interface SinkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  messageId?: string;
  receivedAt: Date;
  /** The SMTP session (connection) that carried it. */
  session?: string;
}

/**
 * Checks an XOAUTH2 access token for `user`: undefined when accepted, else why not (the sink
 * answers 535 with it). An account that signs in with OAuth2 is tried against a real token check.
 */
export type TokenCheck = (user: string, accessToken: string) => Promise<string | undefined>;

/** What the sink answers instead of accepting: an SMTP code and text, or a dropped connection. */
type SinkFault = { code: number; message: string } | 'drop';

export interface SinkFaults {
  /** Decides, per user name signing in, whether AUTH fails (as a provider that turned Basic auth off). */
  auth?: (user: string) => { code: number; message: string } | undefined;
  /** Decides, per recipient address, whether RCPT TO fails. */
  rcpt?: (address: string) => SinkFault | undefined;
  /** Decides, once the whole message has arrived, whether the DATA reply is a failure. */
  data?: (message: SinkMessage) => SinkFault | undefined;
  /**
   * Milliseconds the reply to DATA waits once the whole message has arrived, like a slow relay
   * or a provider scanning the message. The message is kept at the end of the wait.
   */
  dataDelayMs?: number | ((message: SinkMessage) => number);
}

/**
 * A local SMTP server that keeps every message it accepts, in memory and (with `dir`) as
 * `.eml` files, so a user can see exactly what was sent. Tests inject faults through `faults`.
 */
export class SmtpSink {
  readonly messages: SinkMessage[] = [];
  faults: SinkFaults = {};
  private server?: SMTPServer;
  private counter = 0;
  /** Replies held back by `dataDelayMs`: a stopped sink gives none of them. */
  private readonly delayed = new Set<NodeJS.Timeout>();
  port = 0;

  /** XOAUTH2 sign-ins: accepted and refused. */
  readonly tokenLogins = { accepted: 0, refused: 0 };

  constructor(private readonly options: { dir?: string; user?: string; password?: string; checkToken?: TokenCheck } = {}) {}

  async start(port: number): Promise<void> {
    if (this.options.dir) await mkdir(this.options.dir, { recursive: true });
    const { user, password, checkToken } = this.options;
    this.server = new SMTPServer({
      authMethods: checkToken ? ['PLAIN', 'LOGIN', 'XOAUTH2'] : ['PLAIN', 'LOGIN'],
      name: 'campaign-mailer-sink',
      banner: 'Campaign Mailer development sink: messages are kept, never delivered',
      disabledCommands: ['STARTTLS'],
      authOptional: !user && !checkToken,
      allowInsecureAuth: true,
      size: 50 * 1024 * 1024,
      logger: false,
      // On stop, idle client connections (a pooled transport) are cut after this, not 30 s.
      closeTimeout: 1000,
      onAuth: (auth, _session, cb) => {
        const fault = this.faults.auth?.(auth.username ?? '');
        if (fault) return cb(Object.assign(new Error(fault.message), { responseCode: fault.code }));
        if (auth.method === 'XOAUTH2' && checkToken) {
          checkToken(auth.username ?? '', auth.accessToken ?? '').then(
            (refused) => {
              this.tokenLogins[refused ? 'refused' : 'accepted']++;
              // A refused token gets XOAUTH2's JSON challenge (334), then 535, as providers answer.
              cb(null, refused ? { data: { status: '401', schemes: 'bearer', error: refused } } : { user: auth.username });
            },
            (err: Error) => cb(Object.assign(err, { responseCode: 454 })),
          );
          return;
        }
        if ((!user && !checkToken) || (user && auth.username === user && auth.password === password)) cb(null, { user: auth.username });
        else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo: (address: SMTPServerAddress, session: SMTPServerSession, cb) => {
        const fault = this.faults.rcpt?.(address.address);
        if (fault === 'drop') return destroy(session, this.server);
        if (fault) return cb(Object.assign(new Error(fault.message), { responseCode: fault.code }));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          const message: SinkMessage = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            messageId: headerOf(raw, 'message-id'),
            receivedAt: new Date(),
            session: session.id,
          };
          const { dataDelayMs } = this.faults;
          const delay = typeof dataDelayMs === 'function' ? dataDelayMs(message) : (dataDelayMs ?? 0);
          const reply = () => {
            const fault = this.faults.data?.(message);
            if (fault === 'drop') return destroy(session, this.server);
            if (fault) return cb(Object.assign(new Error(fault.message), { responseCode: fault.code }));
            this.accept(message).then(
              (id) => cb(null, `Ok: kept as ${id}`),
              (err: Error) => cb(Object.assign(err, { responseCode: 451 })),
            );
          };
          if (delay > 0) {
            const timer = setTimeout(() => {
              this.delayed.delete(timer);
              reply();
            }, delay);
            this.delayed.add(timer);
          } else reply();
        });
      },
    });
    this.server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = (this.server as unknown as { server: { address(): { port: number } } }).server.address();
    this.port = addr.port;
  }

  private async accept(message: SinkMessage): Promise<string> {
    const id = `${message.receivedAt.toISOString().replace(/[:.]/g, '-')}-${++this.counter}`;
    if (this.options.dir) await writeFile(join(this.options.dir, `${id}.eml`), message.raw);
    this.messages.push(message);
    return id;
  }

  async stop(): Promise<void> {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function destroy(session: SMTPServerSession, server?: SMTPServer): void {
  // smtp-server keeps its connections private; find this session's socket and cut it.
  const connections = (server as unknown as { connections?: Set<{ id: string; _socket: { destroy(): void } }> })?.connections;
  for (const conn of connections ?? []) if (conn.id === session.id) conn._socket.destroy();
}

function headerOf(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('utf8', 0, Math.min(raw.length, 64 * 1024)).split(/\r?\n\r?\n/)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
