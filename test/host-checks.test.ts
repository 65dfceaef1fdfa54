import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { addressClass, blockedReason } from '../src/net/host-policy.js';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startExtraApi, type ExtraApi } from './helpers/app.js';
import { startHarness, type Harness } from './helpers/harness.js';

// Issue 11.2: a tenant's account host is checked after DNS resolution, at verify and at send, and
// verify never passes on what the remote said.

let h: Harness;
let strict: ExtraApi;
let banner: net.Server;
let bannerPort = 0;
let bannerConnections = 0;
const BANNER = 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13 internal-bastion.corp';

before(async () => {
  h = await startHarness({ imap: false }); // the harness allows loopback, as npm test and npm run dev do
  strict = await startExtraApi(h, { allowPrivateHosts: 'none' }); // an installation that allows no inward address
  banner = net.createServer((socket) => {
    bannerConnections++;
    socket.on('error', () => {});
    socket.write(`${BANNER}\r\n`);
  });
  await new Promise<void>((ok) => banner.listen(0, '127.0.0.1', ok));
  bannerPort = (banner.address() as net.AddressInfo).port;
});
after(async () => {
  await strict?.close();
  await new Promise((r) => banner?.close(r));
  await h?.close();
});

const account = (name: string, host: string, port: number, imap?: { host: string; port: number }) => ({
  name,
  smtp: { host, port, security: 'plain', user: 'u', password: 'p' },
  ...(imap ? { imap: { ...imap, security: 'plain', user: 'u', password: 'p' } } : {}),
});

const BLOCKED = 'blocked address: the host is, or resolves to, an address this installation does not connect to';

describe('account hosts', () => {
  test('addresses are classed after IPv4-mapping, metadata included', () => {
    assert.equal(addressClass('8.8.8.8'), 'public');
    assert.equal(addressClass('127.0.0.1'), 'loopback');
    assert.equal(addressClass('::ffff:127.0.0.1'), 'loopback');
    assert.equal(addressClass('10.1.2.3'), 'private');
    assert.equal(addressClass('100.64.0.1'), 'private');
    assert.equal(addressClass('fd12::1'), 'private');
    for (const a of ['169.254.169.254', 'fd00:ec2::254', '0.0.0.0', '::', 'fe80::1', '224.0.0.1']) assert.equal(addressClass(a), 'other', a);
    assert.ok(blockedReason('169.254.169.254', 'private'), 'metadata is never private-allowed');
    assert.equal(blockedReason('169.254.169.254', 'all'), undefined);
    assert.equal(blockedReason('10.0.0.1', 'private'), undefined);
    assert.ok(blockedReason('10.0.0.1', 'loopback'));
  });

  test('verify refuses private, link-local and metadata hosts before connecting, by IP or by name', async () => {
    for (const [name, host] of [
      ['private', '10.255.255.1'],
      ['metadata', '169.254.169.254'],
      ['metadata6', 'fd00:ec2::254'],
      ['unspecified', '0.0.0.0'],
    ] as const) {
      const created = await h.api('POST', '/api/v1/accounts', account(name, host, 25, { host, port: 143 }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const started = Date.now();
      const res = await h.api('POST', `/api/v1/accounts/${name}/verify`, {});
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { smtp: { ok: false, error: BLOCKED }, imap: { ok: false, error: BLOCKED } }, name);
      assert.ok(Date.now() - started < 5000, `${name}: refused without waiting on a connection`);
    }
    // Where loopback is not allowed, a name resolving to it is refused once resolved: nothing connects.
    const created = await strict.api('POST', '/api/v1/accounts', account('by-name', 'localhost', bannerPort, { host: 'localhost', port: bannerPort }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const byLiteral = await strict.api('POST', '/api/v1/accounts', account('by-literal', '127.0.0.1', bannerPort));
    assert.equal(byLiteral.status, 201);
    const before = bannerConnections;
    const res = await strict.api('POST', '/api/v1/accounts/by-name/verify', {});
    assert.deepEqual(res.body, { smtp: { ok: false, error: BLOCKED }, imap: { ok: false, error: BLOCKED } });
    const literal = await strict.api('POST', '/api/v1/accounts/by-literal/verify', {});
    assert.deepEqual(literal.body, { smtp: { ok: false, error: BLOCKED } });
    assert.equal(bannerConnections, before, 'the loopback service was never connected to');
  });

  test("verify answers a fixed text, never the remote's banner", async () => {
    // Loopback allowed here, so verify does connect to the fake SSH server, and must not echo it.
    const created = await h.api('POST', '/api/v1/accounts', account('bastion', '127.0.0.1', bannerPort));
    assert.equal(created.status, 201);
    const before = bannerConnections;
    const res = await h.api('POST', '/api/v1/accounts/bastion/verify', {});
    assert.equal(res.status, 200);
    assert.ok(bannerConnections > before, 'verify reached the server');
    assert.deepEqual(res.body, { smtp: { ok: false, error: 'not an SMTP server: the server did not answer as SMTP does' } });
    const text = JSON.stringify(res.body) + JSON.stringify([...res.headers]);
    for (const leak of ['SSH', 'OpenSSH', 'bastion.corp', 'Ubuntu']) assert.ok(!text.includes(leak), `${leak} is not echoed`);

    const closed = await new Promise<number>((ok) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => ok(port));
      });
    });
    await h.api('POST', '/api/v1/accounts', account('closed', '127.0.0.1', closed));
    const refused = await h.api('POST', '/api/v1/accounts/closed/verify', {});
    assert.deepEqual(refused.body, { smtp: { ok: false, error: 'connection failed: the server could not be reached (refused, unknown host or timed out)' } });
  });

  test('a send through an account on a private address is refused: nothing connects, the campaign pauses with the reason', async () => {
    const created = await h.api('POST', '/api/v1/accounts', account('inward', '10.255.255.1', 25));
    assert.equal(created.status, 201);
    const sinkBefore = h.sink.messages.length;
    const id = await createCampaign(h, campaignBody(2, { account: 'inward' }));
    await approve(h, id);
    const paused = await waitForStatus(h, id, 'paused', 60_000);
    assert.match(String(paused.reason), /blocked address/);
    const rows = await h.sql<{ sendStatus: string }[]>`SELECT send_status FROM recipients WHERE campaign_id = ${id}`;
    assert.ok(rows.every((r) => r.sendStatus !== 'sent'), JSON.stringify(rows));
    assert.equal(h.sink.messages.length, sinkBefore, 'no message went anywhere');
  });
});
