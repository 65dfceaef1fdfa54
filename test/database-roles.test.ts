import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { dbmateInvocation, migrate } from '../src/db/migrate.js';
import { createDatabaseIfMissing } from '../src/dev/postgres.js';
import { campaignBody, createCampaign } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';

// Issue 11.12: migrations run as the owner, the application as a role that may only add to and
// read the audit log. Issue 11.14: dbmate gets the database password through its environment.

let h: Harness;
let app: postgres.Sql;
before(async () => {
  h = await startHarness({ imap: false });
  // The harness's worker and API log in as the application's role; this is the same login.
  app = postgres(h.workerEnv.DATABASE_URL!, { max: 1, onnotice: () => {} });
});
after(async () => {
  await app?.end();
  await h?.close();
});

describe('database roles', () => {
  test('the application works as its role and cannot change, erase or unprotect the audit log', async () => {
    const [who] = await app`SELECT current_user AS user`;
    assert.equal(who!.user, 'campaign_mailer_test_app');
    // Through the API (running as that role): a campaign and its audit row are written.
    const id = await createCampaign(h, campaignBody(1));
    const [row] = await app`SELECT count(*)::int AS n FROM audit_log WHERE campaign_id = ${id} AND action = 'campaign.create'`;
    assert.equal(row!.n, 1);
    await app`INSERT INTO audit_log (tenant, principal, action, details) VALUES ('default', 'test', 'campaign.create', '{}')`;

    for (const [what, attempt, error] of [
      ['DELETE', () => app`DELETE FROM audit_log`, /permission denied/],
      ['UPDATE', () => app`UPDATE audit_log SET principal = 'someone else'`, /permission denied/],
      ['TRUNCATE', () => app`TRUNCATE audit_log`, /permission denied/],
      ['DISABLE TRIGGER', () => app`ALTER TABLE audit_log DISABLE TRIGGER ALL`, /must be owner/],
      ['DROP TRIGGER', () => app`DROP TRIGGER audit_log_no_update_delete ON audit_log`, /must be owner/],
      ['DROP TABLE', () => app`DROP TABLE audit_log`, /must be owner/],
      ['schema_migrations', () => app`DELETE FROM schema_migrations`, /permission denied/],
    ] as const) {
      await assert.rejects(attempt(), error, what);
    }
    const [after] = await h.sql`SELECT count(*)::int AS n FROM audit_log WHERE campaign_id = ${id}`;
    assert.ok(after!.n >= 1, 'the rows are still there');
  });

  test("dbmate's command line never holds the database URL or password", async () => {
    const url = 'postgres://owner:pa55-w0rd@db.example:5432/mailer';
    const { args, env } = dbmateInvocation(url);
    assert.ok(!args.some((a) => a.includes('pa55-w0rd') || a.includes('db.example')), JSON.stringify(args));
    assert.match(env.DATABASE_URL!, /pa55-w0rd/);

    // And the real one: while a migration runs, every dbmate process's argv in /proc is read.
    const admin = process.env.CM_TEST_PG_ADMIN_URL!;
    const password = decodeURIComponent(new URL(admin).password);
    const seen: string[] = [];
    for (let attempt = 0; attempt < 5 && seen.length === 0; attempt++) {
      const db = `argv_${Date.now()}_${attempt}`;
      await createDatabaseIfMissing(admin, db);
      let running = true;
      const watcher = (async () => {
        while (running) {
          for (const pid of await readdir('/proc').catch(() => [])) {
            if (!/^\d+$/.test(pid)) continue;
            const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
            if (/dbmate/.test(cmdline) && /\bup\b/.test(cmdline.replace(/\0/g, ' '))) seen.push(cmdline.replace(/\0/g, ' '));
          }
        }
      })();
      await migrate(admin.replace(/\/postgres$/, `/${db}`));
      running = false;
      await watcher;
    }
    assert.ok(seen.length > 0, 'a dbmate process was seen');
    for (const cmdline of seen) {
      assert.ok(!cmdline.includes(password), `no password in ${cmdline.replace(password, '***')}`);
      assert.doesNotMatch(cmdline, /postgres:\/\//);
    }
  });
});
