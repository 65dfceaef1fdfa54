import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { api, qs, type AuditList } from './api';

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

/**
 * Runs `load` now and every `intervalMs` while mounted (the live parts poll). Answers can arrive out
 * of order (a slow poll, then a refresh after an action, or a filter changed meanwhile): only an
 * answer to a request started after the shown one, and after the last change of `deps`, is shown.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = 2000) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  // Requests are numbered as they start; `shown` is the newest answered, `since` the last before `deps` changed.
  const order = useRef({ started: 0, shown: 0, since: 0 });
  /** Whether the answer to request `n` is newer than the one shown; if so, it is the one shown from now on. */
  const newest = (n: number) => {
    const o = order.current;
    if (n <= o.since || n <= o.shown) return false;
    o.shown = n;
    return true;
  };
  const refresh = useCallback(async () => {
    const n = ++order.current.started;
    try {
      const value = await loadRef.current();
      if (!newest(n)) return;
      setData(value);
      setError(undefined);
    } catch (err) {
      if (newest(n)) setError(err);
    }
  }, []);
  useEffect(() => {
    order.current.since = order.current.started;
    setData(undefined);
    void refresh();
    if (!intervalMs) return;
    const t = setInterval(() => void refresh(), intervalMs);
    return () => clearInterval(t);
  }, deps);
  return { data, error, refresh };
}

/** A button whose action is awaited; its error is shown beside it, in words. */
export function ActionButton({ label, action, className, disabled }: { label: string; action: () => Promise<unknown>; className?: string; disabled?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <span className="action">
      <button
        type="button"
        className={className}
        disabled={busy || disabled}
        onClick={async () => {
          setBusy(true);
          setError(undefined);
          try {
            await action();
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        {label}
      </button>
      <ErrorText error={error} />
    </span>
  );
}

/** A button that asks for confirmation in the page (no browser dialog) before acting. */
export function ConfirmButton({
  label,
  question,
  action,
  className,
  onSticky,
}: {
  label: string;
  question: string;
  action: () => Promise<unknown>;
  className?: string;
  /** Told while a question or an error is on screen, so a polled page does not pull it away. */
  onSticky?: (sticky: boolean) => void;
}) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const sticky = asking || !!error;
  useEffect(() => onSticky?.(sticky), [sticky]);
  // When the question goes (No, Escape, an answer), the focus goes back to the button that asked it,
  // not to the page's start: someone on the keyboard goes on from where they were.
  const button = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);
  useEffect(() => {
    if (asking) asked.current = true;
    else if (asked.current) {
      asked.current = false;
      button.current?.focus();
    }
  }, [asking]);
  return (
    <span className="action">
      {!asking ? (
        <button ref={button} type="button" className={className} onClick={() => { setAsking(true); setError(undefined); }}>
          {label}
        </button>
      ) : (
        <span className="confirm" role="group" aria-label={question} onKeyDown={(e) => e.key === 'Escape' && !busy && setAsking(false)}>
          <span>{question}</span>
          <button
            type="button"
            className={className}
            autoFocus
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await action();
                setAsking(false);
              } catch (err) {
                setError(err);
                setAsking(false);
              } finally {
                setBusy(false);
              }
            }}
          >
            Yes, {label.toLowerCase()}
          </button>
          <button type="button" onClick={() => setAsking(false)}>
            No
          </button>
        </span>
      )}
      <ErrorText error={error} />
    </span>
  );
}

export function Progress({ done, total, label }: { done: number; total: number; label?: string }) {
  const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
  return (
    <span className="progress-wrap">
      <progress max={100} value={pct} aria-label={label ?? 'progress'} />
      <span className="pct">{pct}%</span>
    </span>
  );
}

export const StatusBadge = ({ status }: { status: string }) => <span className={`badge s-${status}`}>{status.replace(/_/g, ' ')}</span>;

export function Section({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  return (
    <section id={id}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export const when = (d?: string | null) => (d ? new Date(d).toLocaleString() : '');

/** Cursor paging: remembers the cursors walked so "previous" works too. */
export function useCursorPages() {
  const [stack, setStack] = useState<(string | number | undefined)[]>([undefined]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    page: stack.length,
    next: (c: string | number) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

/** A safe outbound link: only http(s) URLs, opened without referrer. */
export function SafeLink({ href, children }: { href?: string; children: ReactNode }) {
  if (!href || !/^https?:\/\//i.test(href)) return null;
  return (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  );
}

export const go = (path: string) => {
  window.location.hash = `#/${path}`;
};

/** Previous and next over cursor pages; "next" is offered while the API gave a cursor for it. */
export function Pager({ page, onPrev, next, onNext }: { page: number; onPrev: () => void; next?: string; onNext: (cursor: string) => void }) {
  return (
    <div className="pager">
      <button type="button" onClick={onPrev} disabled={page <= 1}>
        ← Previous
      </button>
      <span>Page {page}</span>
      <button type="button" onClick={() => next && onNext(next)} disabled={!next}>
        Next →
      </button>
    </div>
  );
}

/**
 * The message's HTML goes only into a frame with an empty `sandbox` (no scripts, no forms, an
 * opaque origin) whose document also carries its own CSP. Remote images stay blocked unless the
 * reviewer asks for them (`remote`); remote fonts, styles and everything else never load.
 */
export function HtmlFrame({ html, title, remote = false }: { html: string; title: string; remote?: boolean }) {
  const images = remote ? 'data: https: http:' : 'data:';
  const doc = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${images}; style-src 'unsafe-inline'"></head><body>${html}</body></html>`;
  // A fresh frame for every document: a frame reused across srcdoc documents can keep showing (or
  // report as loaded) the previous one while the next is still loading.
  return <iframe key={doc} className="html-preview" sandbox="" srcDoc={doc} title={title} referrerPolicy="no-referrer" />;
}

/** An audit row's details as people read them: `note: checked · status: sending`; a nested value stays JSON. */
function detailsText(details: unknown): string {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object' || Array.isArray(details)) return JSON.stringify(details);
  return Object.entries(details as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');
}

export function AuditTrail({ campaign, filters = false }: { campaign?: string; filters?: boolean }) {
  const [f, setF] = useState({ action: '', principal: '', campaign: campaign ?? '' });
  const pages = useCursorPages();
  const { data, error } = usePoll(() => api<AuditList>('GET', `/audit${qs({ ...f, limit: 25, cursor: pages.cursor })}`), [f, pages.cursor], 5000);
  return (
    <Section title="Audit trail" id="audit">
      {filters && (
        <div className="toolbar">
          {(['action', 'principal', 'campaign'] as const).map((k) => (
            <label key={k}>
              {k}{' '}
              <input
                value={f[k]}
                onChange={(e) => {
                  setF({ ...f, [k]: e.target.value.trim() });
                  pages.reset();
                }}
              />
            </label>
          ))}
        </div>
      )}
      <ErrorText error={error} />
      <table className="list audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Action</th>
            {!campaign && <th>Campaign</th>}
            <th>Subject</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {data?.items.map((a) => (
            <tr key={a.id}>
              <td>{when(a.at)}</td>
              <td>{a.principal}</td>
              <td>{a.action}</td>
              {!campaign && <td>{a.campaignId && <a href={`#/campaigns/${a.campaignId}`}>{a.campaignId.slice(0, 8)}</a>}</td>}
              <td>{a.subject}</td>
              <td className="details">{detailsText(a.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager page={pages.page} onPrev={pages.prev} next={data?.nextCursor} onNext={pages.next} />
    </Section>
  );
}
