import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { startHarness, type Harness } from './helpers/harness.js';

// Issue 11.3: `security: "starttls"` means TLS or no login. Against servers that do not offer
// STARTTLS (a downgrade), the password never goes out: no AUTH (SMTP) and no LOGIN/AUTHENTICATE
// (IMAP) reaches the server, and the bytes it received never hold the password.

const PASSWORD = 'starttls-Secret-91c2';
let h: Harness;
let smtp: SMTPServer;
let smtpPort = 0;
let authCalls = 0;
const smtpBytes: Buffer[] = [];
let smtpRecorder: net.Server;
let imap: net.Server;
const imapLines: string[] = [];
let imapConnections = 0;

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  h = await startHarness({ imap: false });
  // A real SMTP server that hides STARTTLS but would take a login, behind a recorder of every byte sent to it.
  smtp = new SMTPServer({
    hideSTARTTLS: true,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    logger: false,
    onAuth: (auth, _session, cb) => {
      authCalls++;
      cb(null, { user: auth.username });
    },
  });
  smtp.on('error', () => {});
  await new Promise<void>((ok) => smtp.listen(0, '127.0.0.1', () => ok()));
  const target = (smtp.server.address() as net.AddressInfo).port;
  smtpRecorder = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.on('data', (d: Buffer) => smtpBytes.push(d));
    for (const s of [client, upstream]) s.on('error', () => s.destroy());
    client.pipe(upstream).pipe(client);
  });
  smtpPort = await listen(smtpRecorder);
  // An IMAP server that offers no STARTTLS and would accept any login.
  imap = net.createServer((socket) => {
    imapConnections++;
    socket.on('error', () => {});
    socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      let nl: number;
      while ((nl = buffered.indexOf('\r\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 2);
        imapLines.push(line);
        const [tag, command = ''] = line.split(' ');
        if (/^CAPABILITY$/i.test(command)) socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
        else if (/^(LOGIN|AUTHENTICATE)$/i.test(command)) socket.write(`${tag} OK logged in\r\n`);
        else if (/^LOGOUT$/i.test(command)) socket.end(`* BYE\r\n${tag} OK bye\r\n`);
        else socket.write(`${tag} BAD unknown\r\n`);
      }
    });
  });
  imapPort = await listen(imap);
});
let imapPort = 0;
after(async () => {
  await new Promise((r) => smtpRecorder?.close(r));
  await new Promise((r) => imap?.close(r));
  await new Promise<void>((r) => smtp?.close(() => r()));
  await h?.close();
});

describe('starttls accounts', () => {
  test('against servers that hide STARTTLS, verify fails with "TLS failed" and no login is ever sent', async () => {
    const created = await h.api('POST', '/api/v1/accounts', {
      name: 'downgraded',
      smtp: { host: '127.0.0.1', port: smtpPort, security: 'starttls', user: 'billing', password: PASSWORD },
      imap: { host: '127.0.0.1', port: imapPort, security: 'starttls', user: 'billing', password: PASSWORD },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const res = await h.api('POST', '/api/v1/accounts/downgraded/verify', {});
    assert.equal(res.status, 200);
    const TLS_FAILED = 'TLS failed: the server offers no TLS, or its certificate is not valid for this host';
    assert.deepEqual(res.body, { smtp: { ok: false, error: TLS_FAILED }, imap: { ok: false, error: TLS_FAILED } });

    assert.ok(smtpBytes.length > 0, 'the SMTP server was reached');
    const sentToSmtp = Buffer.concat(smtpBytes).toString('latin1');
    assert.match(sentToSmtp, /^EHLO /im, 'the client greeted');
    assert.doesNotMatch(sentToSmtp, /^AUTH /im, 'no AUTH command');
    assert.equal(authCalls, 0);
    for (const form of [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\0billing\0${PASSWORD}`).toString('base64')]) {
      assert.ok(!sentToSmtp.includes(form), 'the password never reached the SMTP server');
    }

    assert.ok(imapConnections > 0, 'the IMAP server was reached');
    const sentToImap = imapLines.join('\n');
    assert.doesNotMatch(sentToImap, /^\S+ (LOGIN|AUTHENTICATE)\b/im, 'no LOGIN or AUTHENTICATE');
    assert.ok(!sentToImap.includes(PASSWORD), 'the password never reached the IMAP server');
  });

  test('the same servers with security "plain" do get the login: the refusal above is the starttls rule, not a broken server', async () => {
    const created = await h.api('POST', '/api/v1/accounts', {
      name: 'plain',
      smtp: { host: '127.0.0.1', port: smtpPort, security: 'plain', user: 'billing', password: PASSWORD },
      imap: { host: '127.0.0.1', port: imapPort, security: 'plain', user: 'billing', password: PASSWORD },
    });
    assert.equal(created.status, 201);
    await h.api('POST', '/api/v1/accounts/plain/verify', {});
    assert.equal(authCalls, 1, 'SMTP AUTH arrived');
    assert.match(imapLines.join('\n'), /^\S+ (LOGIN|AUTHENTICATE)\b/im, 'IMAP login arrived');
  });
});
