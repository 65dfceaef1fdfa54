import { useEffect, useMemo, useState } from 'react';
import { Liquid } from 'liquidjs';
import { LIQUID_OPTIONS } from '../../src/contract/liquid.js';
import { addressProblem } from '../../src/contract/address.js';
import { parse as parseCsv } from 'csv-parse/browser/esm/sync';
import { api, type CampaignCreated } from './api';
import { ErrorText, go, HtmlFrame } from './ui';

// The server's template options (one definition, src/contract/liquid.ts); HTML output escaped.
const plain = new Liquid(LIQUID_OPTIONS);
const html = new Liquid({ ...LIQUID_OPTIONS, outputEscape: 'escape' });

function render(engine: Liquid, source: string, scope: Record<string, unknown>): { out?: string; error?: string } {
  try {
    return { out: engine.parseAndRenderSync(source, scope) as string };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] };
  }
}

const emptyCampaign = {
  name: '',
  from: '',
  subject: '',
  text: '',
  html: '',
  account: '',
  perMinute: '',
  startAt: '',
  source: 'csv' as 'csv' | 's3',
  bucket: '',
  key: '',
  attBucket: '',
  attKey: '',
  attRequired: true,
};
type CampaignForm = typeof emptyCampaign;
type Csv = { name: string; text: string };

/** A change handler for one text field of the form. */
const fieldSetter = (f: CampaignForm, setF: (f: CampaignForm) => void) => (k: keyof CampaignForm) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });

export function NewCampaign() {
  const [f, setF] = useState(emptyCampaign);
  const [csv, setCsv] = useState<Csv | null>(null);
  const [sampleIndex, setSampleIndex] = useState(0);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = fieldSetter(f, setF);

  const rows = useMemo(() => {
    if (!csv) return [];
    try {
      return parseCsv(csv.text, { columns: true, skip_empty_lines: true, to: 50 }) as Record<string, string>[];
    } catch {
      return [];
    }
  }, [csv]);
  useEffect(() => setSampleIndex(0), [csv]);

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const body: Record<string, unknown> = { name: f.name, from: f.from, subject: f.subject };
      if (f.text) body.text = f.text;
      if (f.html) body.html = f.html;
      if (f.account) body.account = f.account;
      if (f.perMinute) body.throttle = { messagesPerMinute: Number(f.perMinute) };
      if (f.startAt) body.startAt = new Date(f.startAt).toISOString();
      if (f.attKey) body.attachments = [{ bucket: f.attBucket, key: f.attKey, required: f.attRequired }];
      if (f.source === 'csv') {
        if (!csv) throw new Error('Please pick a CSV file with the recipients.');
        body.recipientsCsv = csv.text;
      } else {
        body.recipientsFrom = { s3: { bucket: f.bucket, key: f.key } };
      }
      const created = await api<CampaignCreated>('POST', '/campaigns', body);
      go(`campaigns/${created.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>New campaign</h1>
      <div className="two-columns">
        <form
          className="campaign-form"
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <label>
            Name <input name="name" value={f.name} onChange={set('name')} required />
          </label>
          <label>
            From <input name="from" value={f.from} onChange={set('from')} placeholder="Acme Billing <billing@acme.test>" required />
          </label>
          <label>
            Subject <input name="subject" value={f.subject} onChange={set('subject')} required />
          </label>
          <label>
            Text <textarea name="text" rows={5} value={f.text} onChange={set('text')} />
          </label>
          <label>
            HTML <textarea name="html" rows={6} value={f.html} onChange={set('html')} />
          </label>
          <RecipientsFields f={f} setF={setF} onCsv={setCsv} />
          <AttachmentFields f={f} setF={setF} />
          <label>
            Account <input name="account" value={f.account} onChange={set('account')} placeholder="default" />
          </label>
          <label>
            Throttle (messages per minute) <input name="perMinute" type="number" min={1} value={f.perMinute} onChange={set('perMinute')} />
          </label>
          <label>
            Start at <input name="startAt" type="datetime-local" value={f.startAt} onChange={set('startAt')} />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create and build'}
          </button>
          <ErrorText error={error} />
        </form>
        <LivePreview f={f} csv={csv} rows={rows} sampleIndex={sampleIndex} onSample={setSampleIndex} />
      </div>
    </>
  );
}

/** Where the recipients come from: a CSV file read in the browser, or an S3 object. */
function RecipientsFields({ f, setF, onCsv }: { f: CampaignForm; setF: (f: CampaignForm) => void; onCsv: (csv: Csv | null) => void }) {
  const set = fieldSetter(f, setF);
  return (
    <fieldset>
      <legend>Recipients</legend>
      <label>
        <input type="radio" name="source" checked={f.source === 'csv'} onChange={() => setF({ ...f, source: 'csv' })} /> CSV file on this computer
      </label>
      <label>
        <input type="radio" name="source" checked={f.source === 's3'} onChange={() => setF({ ...f, source: 's3' })} /> S3 object
      </label>
      {f.source === 'csv' ? (
        <label>
          CSV file (header row with an <code>email</code> column){' '}
          <input
            type="file"
            name="csv"
            accept=".csv,text/csv"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              onCsv(file ? { name: file.name, text: await file.text() } : null);
            }}
          />
        </label>
      ) : (
        <>
          <label>
            Bucket <input name="bucket" value={f.bucket} onChange={set('bucket')} required />
          </label>
          <label>
            Key <input name="key" value={f.key} onChange={set('key')} required />
          </label>
        </>
      )}
    </fieldset>
  );
}

function AttachmentFields({ f, setF }: { f: CampaignForm; setF: (f: CampaignForm) => void }) {
  const set = fieldSetter(f, setF);
  return (
    <fieldset>
      <legend>Attachment from S3 (optional)</legend>
      <label>
        Bucket <input name="attBucket" value={f.attBucket} onChange={set('attBucket')} />
      </label>
      <label>
        Key template <input name="attKey" value={f.attKey} onChange={set('attKey')} placeholder="statements/{{ customerId }}.pdf" />
      </label>
      <label>
        <input type="checkbox" name="attRequired" checked={f.attRequired} onChange={(e) => setF({ ...f, attRequired: e.target.checked })} /> Required (a recipient without it is
        blocked; otherwise it goes to review)
      </label>
    </fieldset>
  );
}

/** A row of the CSV whose address the build would block, by the API's own rule. */
interface InvalidRow {
  /** 1 for the first row after the header: the recipient's number in the campaign. */
  row: number;
  email: string;
  problem: string;
}

const invalidRows = (rows: Record<string, string>[]): InvalidRow[] =>
  rows.flatMap((r, i) => {
    const problem = addressProblem(r.email ?? '');
    return problem ? [{ row: i + 1, email: r.email ?? '', problem }] : [];
  });

const shown = (email: string) => (email.trim() === '' ? '(empty)' : `“${email}”`);

/** How many of the rows read have an address that is not valid, and which: said in words beside the sample list. */
function InvalidAddresses({ invalid, read, more }: { invalid: InvalidRow[]; read: number; more: boolean }) {
  if (invalid.length === 0) return null;
  const one = invalid.length === 1;
  return (
    <div className="invalid-addresses">
      <p>
        <strong>
          ⚠ {invalid.length} of {more ? `the first ${read}` : read} rows {one ? 'has an address that is' : 'have addresses that are'} not valid
        </strong>
        ; the build will block {one ? 'it' : 'them'}:
      </p>
      <ul>
        {invalid.slice(0, 10).map((x) => (
          <li key={x.row}>
            Row {x.row}: {shown(x.email)} {x.problem}
          </li>
        ))}
        {invalid.length > 10 && <li>and {invalid.length - 10} more</li>}
      </ul>
    </div>
  );
}

/** The subject, HTML and text as the sample recipient (a row of the CSV, or a made-up one) would get them. */
function LivePreview({ f, csv, rows, sampleIndex, onSample }: { f: CampaignForm; csv: Csv | null; rows: Record<string, string>[]; sampleIndex: number; onSample: (i: number) => void }) {
  const invalid = useMemo(() => invalidRows(rows), [rows]);
  const sample = rows[sampleIndex] ?? { email: 'sample@example.com', name: 'Sample Recipient' };
  const sampleProblem = invalid.find((x) => x.row === sampleIndex + 1)?.problem;
  // Empty cells are no value, as in the build: a template using one fails here as it would block there.
  const scope = Object.fromEntries(Object.entries(sample).filter(([, v]) => v !== ''));
  const subject = render(plain, f.subject, scope);
  const text = f.text ? render(plain, f.text, scope) : undefined;
  const htmlOut = f.html ? render(html, f.html, scope) : undefined;
  return (
    <div className="live-preview" aria-live="polite">
      <h2>Preview for a sample recipient</h2>
      {rows.length > 1 && (
        <label>
          Sample{' '}
          <select value={sampleIndex} onChange={(e) => onSample(Number(e.target.value))}>
            {rows.map((r, i) => (
              <option key={i} value={i}>
                {r.email ?? `row ${i + 1}`}
                {invalid.some((x) => x.row === i + 1) ? ' (not a valid address)' : ''}
              </option>
            ))}
          </select>
        </label>
      )}
      <p className="meta">
        {csv ? `${csv.name}: ${rows.length}${rows.length === 50 ? '+' : ''} rows read for the preview` : 'No list picked: a made-up sample recipient'} · to {String(sample.email ?? '')}
        {sampleProblem && <strong className="flag"> ⚠ this address {sampleProblem}</strong>}
      </p>
      <InvalidAddresses invalid={invalid} read={rows.length} more={rows.length === 50} />
      <p>
        <strong>Subject:</strong> <span className="preview-subject">{subject.out}</span>
      </p>
      <ErrorText error={subject.error && `Subject: ${subject.error}`} />
      {htmlOut?.out !== undefined && <HtmlFrame html={htmlOut.out} title="HTML preview" />}
      <ErrorText error={htmlOut?.error && `HTML: ${htmlOut.error}`} />
      {text?.out !== undefined && <pre className="text-part">{text.out}</pre>}
      <ErrorText error={text?.error && `Text: ${text.error}`} />
    </div>
  );
}
