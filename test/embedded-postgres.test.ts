import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { freePort } from '../src/dev/ports.js';
import { startEmbeddedPostgres } from '../src/dev/postgres.js';

// The embedded PostgreSQL the tests and `npm run dev` start, when its port is already taken by
// somebody else: a fixed port fails with an error naming the port and PostgreSQL's reason, which
// is what the retry of a flexible port ('free' or { prefer }) recognises; a preferred port that
// is taken gives way to another, and the server it returns answers there.

let root: string;
let squatter: Server;
let taken: number;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'campaign-mailer-embedded-pg-'));
  await chmod(root, 0o755); // embedded PostgreSQL runs as another user when we are root
  taken = await freePort();
  squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
});

after(async () => {
  await new Promise((resolve) => squatter.close(resolve));
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

test('a fixed port that is taken: one line naming the port and the server\'s reason', async () => {
  await assert.rejects(
    startEmbeddedPostgres({ dir: join(root, 'fixed'), port: taken, database: 'postgres' }),
    (err: Error) => {
      assert.match(err.message, new RegExp(`on port ${taken}:`));
      assert.match(err.message, /could not bind|Address already in use/i);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    },
  );
});

test('a preferred port that is taken: the server starts on another and answers there', async () => {
  const pg = await startEmbeddedPostgres({ dir: join(root, 'preferred'), port: { prefer: taken }, database: 'campaign_mailer' });
  try {
    assert.notEqual(pg.port, taken);
    assert.match(pg.url, new RegExp(`:${pg.port}/campaign_mailer$`));
    const sql = postgres(pg.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<{ db: string }[]>`select current_database() as db`;
      assert.equal(row?.db, 'campaign_mailer');
    } finally {
      await sql.end();
    }
  } finally {
    await pg.stop();
  }
});
