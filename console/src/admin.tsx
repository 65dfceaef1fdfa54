import { useState } from 'react';
import { api, qs, type Account, type AccountList, type AccountVerify, type KeyCreated, type KeyList, type SuppressionList } from './api';
import { ActionButton, AuditTrail, ConfirmButton, ErrorText, Pager, Section, useCursorPages, usePoll, when } from './ui';

export function Admin({ can, section }: { can: (s: string) => boolean; section?: string }) {
  const tabs = [
    can('accounts:admin') && ['accounts', 'Accounts'],
    can('keys:admin') && ['keys', 'API keys'],
    can('campaigns:read') && ['suppressions', 'Suppressions'],
    can('keys:admin') && ['audit', 'Audit log'],
  ].filter(Boolean) as [string, string][];
  const current = section && tabs.some(([k]) => k === section) ? section : tabs[0]?.[0];
  return (
    <>
      <h1>Admin</h1>
      <nav className="tabs" aria-label="admin">
        {tabs.map(([k, label]) => (
          <a key={k} href={`#/admin/${k}`} aria-current={k === current ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {current === 'accounts' && <Accounts />}
      {current === 'keys' && <Keys />}
      {current === 'suppressions' && <Suppressions canWrite={can('campaigns:write')} />}
      {current === 'audit' && <AuditTrail filters />}
      {!current && <p>This key has no administrative scope.</p>}
    </>
  );
}

const emptyAccount = {
  name: '',
  smtpHost: '',
  smtpPort: '',
  smtpSecurity: 'starttls',
  smtpUser: '',
  smtpPassword: '',
  imapHost: '',
  imapPort: '',
  imapSecurity: 'tls',
  imapUser: '',
  imapPassword: '',
  imapAppend: true,
  perMinute: '',
  perDay: '',
  maxConnections: '',
  /** What the form does not edit, sent back unchanged on save (OAuth2 secrets stay stored). */
  keep: {} as { oauth2?: Record<string, unknown>; maxMessagesPerConnection?: number },
};

function accountForm(a: Account): typeof emptyAccount {
  return {
    ...emptyAccount,
    name: a.name,
    smtpHost: a.smtp.host,
    smtpPort: String(a.smtp.port ?? ''),
    smtpSecurity: a.smtp.security,
    smtpUser: a.smtp.user ?? '',
    imapHost: a.imap?.host ?? '',
    imapPort: a.imap ? String(a.imap.port) : '',
    imapSecurity: a.imap?.security ?? 'tls',
    imapUser: a.imap?.user ?? '',
    imapAppend: a.imap?.append ?? true,
    perMinute: String(a.limits?.messagesPerMinute ?? ''),
    perDay: String(a.limits?.messagesPerDay ?? ''),
    maxConnections: String(a.limits?.maxConnections ?? ''),
    keep: { oauth2: a.oauth2 ? { ...a.oauth2, secretSet: undefined } : undefined, maxMessagesPerConnection: a.limits?.maxMessagesPerConnection },
  };
}

function Accounts() {
  const { data, error, refresh } = usePoll(() => api<AccountList>('GET', '/accounts'), [], 0);
  const [editing, setEditing] = useState<{ form: typeof emptyAccount; isNew: boolean } | null>(null);
  const [verify, setVerify] = useState<Record<string, AccountVerify>>({});
  return (
    <Section title="SMTP accounts">
      <ErrorText error={error} />
      <table className="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>SMTP</th>
            <th>IMAP</th>
            <th>Limits</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.items.map((a) => (
            <tr key={a.name}>
              <td>{a.name}</td>
              <td>
                {a.smtp.security}://{a.smtp.user ? `${a.smtp.user}@` : ''}
                {a.smtp.host}:{a.smtp.port} {a.oauth2 ? `(OAuth2, ${a.oauth2.provider})` : a.smtp.passwordSet ? '(password set)' : '(no password)'}
              </td>
              <td>{a.imap ? `${a.imap.host}:${a.imap.port}${a.imap.append ? '' : ' (no Sent copies)'}` : 'none'}</td>
              <td>
                {a.limits.messagesPerMinute ? `${a.limits.messagesPerMinute}/min ` : ''}
                {a.limits.messagesPerDay ? `${a.limits.messagesPerDay}/day ` : ''}
                {a.limits.maxConnections ? `${a.limits.maxConnections} conn.` : ''}
              </td>
              <td>
                <button type="button" onClick={() => setEditing({ form: accountForm(a), isNew: false })}>
                  Edit
                </button>
                <ActionButton label="Verify" action={async () => setVerify({ ...verify, [a.name]: await api<AccountVerify>('POST', `/accounts/${encodeURIComponent(a.name)}/verify`) })} />
                {verify[a.name] && <VerifyResult result={verify[a.name]} />}
                <ConfirmButton className="danger" label="Delete" question={`Delete ${a.name}?`} action={async () => { await api('DELETE', `/accounts/${encodeURIComponent(a.name)}`); await refresh(); }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!editing && (
        <button type="button" onClick={() => setEditing({ form: { ...emptyAccount }, isNew: true })}>
          New account
        </button>
      )}
      {editing && <AccountEditor key={editing.form.name} initial={editing.form} isNew={editing.isNew} onDone={async () => { setEditing(null); await refresh(); }} />}
    </Section>
  );
}

/** What verify found, one login after the other. */
function VerifyResult({ result: { oauth2, smtp, imap } }: { result: AccountVerify }) {
  return (
    <span className="verify">
      {oauth2 && `OAuth2 ${oauth2.ok ? 'OK' : `failed: ${oauth2.error}`} · `}
      SMTP {smtp.ok ? 'OK' : `failed: ${smtp.error}`}
      {imap && ` · IMAP ${imap.ok ? `OK (${imap.sentFolder ?? 'no Sent folder'})` : `failed: ${imap.error}`}`}
    </span>
  );
}

function AccountEditor({ initial, isNew, onDone }: { initial: typeof emptyAccount; isNew: boolean; onDone: () => Promise<void> }) {
  const [f, setF] = useState(initial);
  const [error, setError] = useState<unknown>();
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const num = (s: string) => (s ? Number(s) : undefined);
  const save = async () => {
    const body = {
      smtp: { host: f.smtpHost, port: num(f.smtpPort), security: f.smtpSecurity, user: f.smtpUser || undefined, password: f.smtpPassword || undefined },
      imap: f.imapHost ? { host: f.imapHost, port: num(f.imapPort), security: f.imapSecurity, user: f.imapUser || undefined, password: f.imapPassword || undefined, append: f.imapAppend } : undefined,
      limits: { messagesPerMinute: num(f.perMinute), messagesPerDay: num(f.perDay), maxConnections: num(f.maxConnections), maxMessagesPerConnection: f.keep.maxMessagesPerConnection },
      oauth2: f.keep.oauth2,
    };
    try {
      if (isNew) await api('POST', '/accounts', { name: f.name, ...body });
      else await api('PUT', `/accounts/${encodeURIComponent(f.name)}`, body);
      await onDone();
    } catch (err) {
      setError(err);
    }
  };
  const field = (k: keyof typeof f, label: string, type = 'text') => (
    <label>
      {label} <input type={type} value={String(f[k])} onChange={set(k)} autoComplete="off" placeholder={type === 'password' && !isNew ? 'unchanged: leave empty to keep' : undefined} />
    </label>
  );
  return (
    <form className="editor" onSubmit={(e) => { e.preventDefault(); void save(); }}>
      <h3>{isNew ? 'New account' : `Edit ${f.name}`}</h3>
      {isNew && field('name', 'Name')}
      <fieldset>
        <legend>SMTP</legend>
        {field('smtpHost', 'Host')}
        {field('smtpPort', 'Port', 'number')}
        <label>
          Security{' '}
          <select value={f.smtpSecurity} onChange={set('smtpSecurity')}>
            <option>starttls</option>
            <option>tls</option>
            <option>plain</option>
          </select>
        </label>
        {field('smtpUser', 'User')}
        {field('smtpPassword', 'Password (write-only)', 'password')}
      </fieldset>
      <fieldset>
        <legend>IMAP (Sent copies; optional)</legend>
        {field('imapHost', 'Host')}
        {field('imapPort', 'Port', 'number')}
        <label>
          Security{' '}
          <select value={f.imapSecurity} onChange={set('imapSecurity')}>
            <option>tls</option>
            <option>starttls</option>
            <option>plain</option>
          </select>
        </label>
        {field('imapUser', 'User')}
        {field('imapPassword', 'Password (write-only)', 'password')}
        <label>
          <input type="checkbox" checked={f.imapAppend} onChange={(e) => setF({ ...f, imapAppend: e.target.checked })} /> File a copy in Sent (off for Gmail and Microsoft 365)
        </label>
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        {field('perMinute', 'Messages per minute', 'number')}
        {field('perDay', 'Messages per day', 'number')}
        {field('maxConnections', 'Connections', 'number')}
      </fieldset>
      <button type="submit" className="primary">Save</button>
      <button type="button" onClick={() => void onDone()}>Cancel</button>
      <ErrorText error={error} />
    </form>
  );
}

const SCOPES = ['campaigns:read', 'campaigns:write', 'campaigns:review', 'accounts:admin', 'keys:admin'];

function Keys() {
  const { data, error, refresh } = usePoll(() => api<KeyList>('GET', '/keys'), [], 0);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['campaigns:read']);
  const [created, setCreated] = useState<KeyCreated>();
  const [createError, setCreateError] = useState<unknown>();
  return (
    <Section title="API keys">
      <ErrorText error={error} />
      <table className="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            <th>Scopes</th>
            <th>Person</th>
            <th>Created</th>
            <th>Revoked</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.items.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.scopes.join(', ')}</td>
              <td>{k.person}</td>
              <td>{when(k.createdAt)}</td>
              <td>{when(k.revokedAt)}</td>
              <td>{!k.revokedAt && <ConfirmButton className="danger" label="Revoke" question={`Revoke ${k.name}? Its next call fails.`} action={async () => { await api('DELETE', `/keys/${k.id}`); await refresh(); }} />}</td>
            </tr>
          ))}
          {data && data.items.length === 0 && (
            <tr>
              <td colSpan={7}>No key was created yet (the server&apos;s configured API_KEY is never listed).</td>
            </tr>
          )}
        </tbody>
      </table>
      <form
        className="editor"
        onSubmit={async (e) => {
          e.preventDefault();
          setCreateError(undefined);
          try {
            setCreated(await api<KeyCreated>('POST', '/keys', { name, scopes }));
            setName('');
            await refresh();
          } catch (err) {
            setCreateError(err);
          }
        }}
      >
        <h3>New key</h3>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s}>
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} /> {s}
            </label>
          ))}
        </fieldset>
        <button type="submit">Create key</button>
        <ErrorText error={createError} />
      </form>
      {created && (
        <div className="once" role="status">
          <p>
            The key for <strong>{created.name}</strong>, shown only this once: copy it now.
          </p>
          <input readOnly value={created.key} aria-label="new API key" onFocus={(e) => e.target.select()} />
          <button type="button" onClick={() => setCreated(undefined)}>
            Done, I copied it
          </button>
        </div>
      )}
    </Section>
  );
}

function Suppressions({ canWrite }: { canWrite: boolean }) {
  const pages = useCursorPages();
  const { data, error, refresh } = usePoll(() => api<SuppressionList>('GET', `/suppressions${qs({ limit: 50, cursor: pages.cursor })}`), [pages.cursor], 0);
  const [email, setEmail] = useState('');
  const [reason, setReason] = useState('');
  const [addError, setAddError] = useState<unknown>();
  return (
    <Section title="Suppressed addresses">
      <ErrorText error={error} />
      <table className="list">
        <thead>
          <tr>
            <th>Address</th>
            <th>Reason</th>
            <th>Since</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.items.map((s) => (
            <tr key={s.email}>
              <td>{s.email}</td>
              <td>{s.reason}</td>
              <td>{when(s.createdAt)}</td>
              <td>{canWrite && <ConfirmButton label="Remove" question={`Allow mail to ${s.email} again?`} action={async () => { await api('DELETE', `/suppressions/${encodeURIComponent(s.email)}`); await refresh(); }} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager page={pages.page} onPrev={pages.prev} next={data?.nextCursor} onNext={pages.next} />
      {canWrite && (
        <form
          className="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            setAddError(undefined);
            try {
              await api('POST', '/suppressions', { email, reason: reason || undefined });
              setEmail('');
              setReason('');
              await refresh();
            } catch (err) {
              setAddError(err);
            }
          }}
        >
          <label>
            Address <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
          </label>
          <label>
            Reason <input value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <button type="submit">Suppress</button>
          <ErrorText error={addError} />
        </form>
      )}
    </Section>
  );
}
