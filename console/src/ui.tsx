import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

/** Runs `load` now and every `intervalMs` while mounted (the live parts poll). */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = 2000) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const refresh = useCallback(async () => {
    try {
      setData(await loadRef.current());
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
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
  return (
    <span className="action">
      {!asking ? (
        <button type="button" className={className} onClick={() => { setAsking(true); setError(undefined); }}>
          {label}
        </button>
      ) : (
        <span className="confirm" role="group" aria-label={question}>
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
