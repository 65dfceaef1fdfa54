import { useEffect, useRef, useState } from 'react';
import { allows } from '../../src/contract/statuses.js';
import { api, download, qs, type Campaign, type MessagePreview, type RecipientDecision, type RecipientList, type Review, type ReviewItem, type TestSendResult } from './api';
import { ActionButton, ErrorText, HtmlFrame, Section, StatusBadge, usePoll, when } from './ui';

/** How many images (img, background, CSS url()) in a message's HTML would come from another server. */
function remoteImageCount(html: string): number {
  const attributes = html.match(/\b(?:src|background|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//gi) ?? [];
  const css = html.match(/url\(\s*["']?\s*(?:https?:)?\/\//gi) ?? [];
  return attributes.length + css.length;
}

/** The switch above a preview: remote images are off until the reviewer turns them on for this message. */
function RemoteImages({ count, on, onChange }: { count: number; on: boolean; onChange: (on: boolean) => void }) {
  if (count === 0) return null;
  return (
    <p className="remote-images meta">
      {on ? `${count} remote image${count === 1 ? '' : 's'} loaded from other servers. ` : `${count} remote image${count === 1 ? ' is' : 's are'} blocked. `}
      <button type="button" onClick={() => onChange(!on)}>
        {on ? 'Block remote images' : 'Load remote images'}
      </button>
    </p>
  );
}

/** An address as the API answers it: text, `{ name, address }`, or a list of either. */
function formatAddress(x: unknown): string {
  if (x === undefined || x === null) return '';
  if (Array.isArray(x)) return x.map(formatAddress).filter(Boolean).join(', ');
  if (typeof x === 'object') {
    const a = x as { name?: string; address?: string };
    return a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? '');
  }
  return String(x);
}

const formatSize = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

export function ReviewPage({ id, can }: { id: string; can: (s: string) => boolean }) {
  const { data: c, refresh: refreshCampaign } = usePoll(() => api<Campaign>('GET', `/campaigns/${id}`), [id], 3000);
  const [after, setAfter] = useState<string[]>(['']);
  const [review, setReview] = useState<Review>();
  const [reviewError, setReviewError] = useState<unknown>();
  const [selected, setSelected] = useState<number>(1);
  const loadReview = async () => {
    try {
      const next = await api<Review>('GET', `/campaigns/${id}/review${qs({ limit: 50, cursor: after[after.length - 1] || undefined })}`);
      // Only the first page carries the fingerprint; later pages keep the one this review started with.
      setReview((prev) => ({ ...next, fingerprint: next.fingerprint ?? prev?.fingerprint, schedule: next.schedule ?? prev?.schedule }));
      setReviewError(undefined);
    } catch (err) {
      setReviewError(err);
    }
  };
  // Loaded once per page, not polled: the fingerprint must be the one the reviewer looked at.
  useEffect(() => {
    void loadReview();
  }, [id, after]);
  // A review opened while the list was still being built is read again once the build is done:
  // what it had then (no recipient yet, or some) is not what an approval would send.
  const building = c?.status === 'building';
  const wasBuilding = useRef(false);
  useEffect(() => {
    if (building) wasBuilding.current = true;
    else if (c && wasBuilding.current) {
      wasBuilding.current = false;
      if (after.length > 1) setAfter(['']);
      else void loadReview();
    }
  }, [building]);

  // A decision the API refused (another tab or client decided, or cancelled, since): kept on screen
  // when the decision itself goes away, and said with the status the page now shows.
  const [refused, setRefused] = useState<'approve' | 'reject'>();

  const total = c?.counts?.total ?? 0;
  // The review is open while the workflow allows an approve (and so a reject): the Decide buttons are offered then.
  const reviewing = !!c && allows('approve', c.status);
  const settled = review !== undefined || reviewError !== undefined;
  return (
    <>
      <h1>
        Review: {c?.name} {c && <StatusBadge status={c.status} />}
      </h1>
      <p>
        <a href={`#/campaigns/${id}`}>← Campaign page</a>
      </p>
      <ErrorText error={reviewError} />
      {building && (
        <p className="meta" role="status">
          The list is still being built ({c.build?.read ?? 0} entries read): the review shows it once the build is done.
        </p>
      )}
      {review && !building && (
        <>
          <BuildCounts review={review} />
          <ReviewList
            campaign={id}
            review={review}
            canDecide={reviewing && can('campaigns:review')}
            onDecided={(recipient, included) => setReview({ ...review, items: review.items.map((x) => (x.id === recipient ? { ...x, included } : x)) })}
            onPreview={setSelected}
            after={after}
            onPage={setAfter}
          />
        </>
      )}
      {/* Below the list only once it is there, so the list arriving does not push these down under the pointer. */}
      {c && settled && c.status !== 'building' && <Preview campaign={id} recipient={selected} total={total} onSelect={setSelected} />}
      {/* Offered while the API would send it: only in a review still open. */}
      {c && settled && can('campaigns:review') && allows('testSend', c.status) && <TestSend campaign={id} recipient={selected} />}
      {c && reviewing && review && can('campaigns:review') && (
        <Decide
          campaign={id}
          fingerprint={review.fingerprint}
          schedule={review.schedule}
          reach={reachOf(review, total)}
          fourEyes={c.reviewPolicy?.distinctReviewer}
          onDone={async () => {
            setRefused(undefined);
            await refreshCampaign();
            await loadReview();
          }}
          onRefused={async (action) => {
            // The page's status must be the campaign's now, not the one it was loaded with.
            setRefused(action);
            await refreshCampaign();
          }}
          onReload={async () => {
            // The fingerprint comes with the first page: a reload starts there.
            if (after.length > 1) setAfter(['']);
            else await loadReview();
          }}
        />
      )}
      {c && !reviewing && refused && (
        <Section title="Decision" id="decide">
          <p className="error" role="alert">
            This {refused === 'approve' ? 'approval' : 'rejection'} was not applied: the campaign is no longer awaiting review; it is {c.status.replace(/_/g, ' ')} now
            {c.review ? `, decided by ${c.review.by ?? 'someone unknown'} ${when(c.review.at)}` : ''}.
          </p>
        </Section>
      )}
      {c && reviewing && !can('campaigns:review') && <p className="meta">This key may look but not decide: approving or rejecting needs the campaigns:review scope.</p>}
    </>
  );
}

/** The build's counts per status, and how many recipients still await a decision. */
function BuildCounts({ review }: { review: Review }) {
  return (
    <table className="counts build-counts" aria-label="build statuses">
      <tbody>
        <tr>
          {Object.entries(review.counts).map(([k, v]) => (
            <td key={k} className={`b-${k}`}>
              <strong>{v}</strong> {k.replace(/_/g, ' ')}
            </td>
          ))}
          <td>
            <strong>{review.undecided}</strong> undecided
          </td>
        </tr>
      </tbody>
    </table>
  );
}

/** The recipients that need a decision or are blocked, a page at a time (`after`: the cursors walked). */
function ReviewList({
  campaign,
  review,
  canDecide,
  onDecided,
  onPreview,
  after,
  onPage,
}: {
  campaign: string;
  review: Review;
  canDecide: boolean;
  onDecided: (recipient: number, included: boolean) => void;
  onPreview: (recipient: number) => void;
  after: string[];
  onPage: (after: string[]) => void;
}) {
  return (
    <Section title="Needs a decision or blocked">
      {/* On a phone the name, status and reasons fold under the address (phone-only), so the reasons stay readable and the buttons on screen. */}
      <table className="list review-list folds">
        <thead>
          <tr>
            <th>#</th>
            <th>Address</th>
            <th className="wide-only">Name</th>
            <th className="wide-only">Status</th>
            <th className="wide-only">Reasons</th>
            <th>Decision</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {review.items.map((r) => (
            <tr key={r.id} data-recipient={r.id}>
              <td>{r.id}</td>
              <td className="address">
                {r.email}
                <div className="phone-only meta">
                  {r.name && <div>{r.name}</div>}
                  <div>{r.buildStatus.replace(/_/g, ' ')}</div>
                  {r.reasons.length > 0 && <div className="reasons">{r.reasons.join('; ')}</div>}
                </div>
              </td>
              <td className="wide-only">{r.name}</td>
              <td className="wide-only">{r.buildStatus.replace(/_/g, ' ')}</td>
              <td className="reasons wide-only">{r.reasons.join('; ')}</td>
              <td>
                {r.buildStatus === 'needs_review' && (
                  <Decision
                    campaign={campaign}
                    recipient={r}
                    enabled={canDecide}
                    onDecided={(included) => onDecided(r.id, included)}
                  />
                )}
              </td>
              <td>
                <button type="button" onClick={() => onPreview(r.id)}>
                  Preview
                </button>
              </td>
            </tr>
          ))}
          {review.items.length === 0 && (
            <tr>
              <td colSpan={7}>No recipient needs a decision or is blocked.</td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" disabled={after.length <= 1} onClick={() => onPage(after.slice(0, -1))}>
          ← Previous
        </button>
        <button type="button" disabled={!review.nextCursor} onClick={() => review.nextCursor && onPage([...after, review.nextCursor])}>
          Next →
        </button>
      </div>
    </Section>
  );
}

function Decision({ campaign, recipient, enabled, onDecided }: { campaign: string; recipient: ReviewItem; enabled: boolean; onDecided: (included: boolean) => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = async (include: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const res = await api<RecipientDecision>('POST', `/campaigns/${campaign}/recipients/${recipient.id}/decision`, { include });
      onDecided(res.included);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const state = recipient.included === true ? 'included' : recipient.included === false ? 'excluded' : 'undecided';
  return (
    <span className="decision">
      <span className={`d-${state}`}>{state}</span>
      {enabled && (
        <>
          <button type="button" disabled={busy} onClick={() => set(true)} aria-pressed={recipient.included === true} aria-label={`Include ${recipient.email}`}>
            Include
          </button>
          <button type="button" disabled={busy} onClick={() => set(false)} aria-pressed={recipient.included === false} aria-label={`Exclude ${recipient.email}`}>
            Exclude
          </button>
        </>
      )}
      <ErrorText error={error} />
    </span>
  );
}

function Preview({ campaign, recipient, total, onSelect }: { campaign: string; recipient: number; total: number; onSelect: (id: number) => void }) {
  const [msg, setMsg] = useState<MessagePreview>();
  const [error, setError] = useState<unknown>();
  const [jump, setJump] = useState('');
  const [jumpError, setJumpError] = useState<unknown>();
  const [remote, setRemote] = useState(false);
  useEffect(() => {
    let live = true;
    setMsg(undefined);
    setRemote(false);
    setError(undefined);
    api<MessagePreview>('GET', `/campaigns/${campaign}/recipients/${recipient}/preview`).then(
      (m) => live && setMsg(m),
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [campaign, recipient]);
  // While an address is looked for: how many recipients were read so far (a long list takes a while).
  const [looking, setLooking] = useState<number>();
  const findByAddress = async () => {
    setJumpError(undefined);
    setLooking(0);
    // Walks the list a page at a time (never all at once) until the address turns up.
    let cursor: string | undefined;
    let read = 0;
    const wanted = jump.trim().toLowerCase();
    try {
      for (let pages = 0; pages < 200; pages++) {
        const page = await api<RecipientList>('GET', `/campaigns/${campaign}/recipients${qs({ limit: 500, cursor })}`);
        read += page.items.length;
        setLooking(read);
        const hit = page.items.find((r) => r.email.toLowerCase() === wanted);
        if (hit) return onSelect(hit.id);
        if (!page.nextCursor) return setJumpError(new Error(`No recipient with the address ${jump.trim()} in this campaign.`));
        cursor = page.nextCursor;
      }
      // Not the whole list: say how far it was looked through, not that the address is absent.
      setJumpError(new Error(`No recipient with the address ${jump.trim()} among the first ${read} recipients; the search stops there.`));
    } finally {
      setLooking(undefined);
    }
  };
  return (
    <Section title={`Preview of recipient #${recipient}`} id="preview">
      <div className="toolbar">
        <button type="button" disabled={recipient <= 1} onClick={() => onSelect(recipient - 1)}>
          ← Previous recipient
        </button>
        <button type="button" disabled={recipient >= total} onClick={() => onSelect(recipient + 1)}>
          Next recipient →
        </button>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            findByAddress().catch(setJumpError);
          }}
        >
          <label>
            Jump to address <input type="email" value={jump} onChange={(e) => setJump(e.target.value)} required />
          </label>
          <button type="submit" disabled={looking !== undefined}>
            Go
          </button>{' '}
          {/* Beside the button, so the message below does not move while it is said. */}
          <span className="meta" role="status">
            {looking !== undefined ? `Looking… ${looking} recipients read` : ''}
          </span>
        </form>
      </div>
      <ErrorText error={jumpError} />
      {msg ? (
        <MessageView campaign={campaign} recipient={recipient} msg={msg} remote={remote} onRemote={setRemote} />
      ) : (
        // The same box as the message, so what lies below does not move under the pointer when it arrives.
        <div className="message" aria-busy={!error}>
          {error ? <ErrorText error={error} /> : <p className="meta">Loading recipient #{recipient}&apos;s message…</p>}
        </div>
      )}
    </Section>
  );
}

/** A built message as its recipient would get it: headers, HTML (remote images on request), text and attachments. */
function MessageView({ campaign, recipient, msg, remote, onRemote }: { campaign: string; recipient: number; msg: MessagePreview; remote: boolean; onRemote: (on: boolean) => void }) {
  return (
    <div className="message">
      <MessageHeaders msg={msg} />
      {msg.html ? (
        <>
          <RemoteImages count={remoteImageCount(msg.html)} on={remote} onChange={onRemote} />
          <HtmlFrame html={msg.html} title="HTML part of the message" remote={remote} />
        </>
      ) : (
        <p className="meta">No HTML part.</p>
      )}
      <h3>Text part</h3>
      <pre className="text-part">{msg.text}</pre>
      <h3>Attachments</h3>
      {msg.attachments.length === 0 ? (
        <p className="meta">None.</p>
      ) : (
        <ul className="attachments">
          {msg.attachments.map((a, i) => (
            <li key={i}>
              {a.filename} ({formatSize(a.size)}){' '}
              <ActionButton
                label={`Download ${a.filename}`}
                action={() => download(`/campaigns/${campaign}/recipients/${recipient}/attachment?n=${i}`, a.filename, 'application/octet-stream')}
              />
            </li>
          ))}
        </ul>
      )}
      <p>
        <ActionButton
          label={msg.attachments.length ? 'Download the .eml (with its attachments)' : 'Download the .eml'}
          action={() => download(`/campaigns/${campaign}/recipients/${recipient}/preview`, `campaign-${campaign}-recipient-${recipient}.eml`, 'message/rfc822')}
        />
      </p>
    </div>
  );
}

function MessageHeaders({ msg }: { msg: MessagePreview }) {
  return (
    <dl className="headers">
      <dt>From</dt>
      <dd>{formatAddress(msg.from)}</dd>
      <dt>To</dt>
      <dd className="to">{formatAddress(msg.to)}</dd>
      {msg.cc && msg.cc.length > 0 && (
        <>
          <dt>Cc</dt>
          <dd>{formatAddress(msg.cc)}</dd>
        </>
      )}
      {msg.bcc && msg.bcc.length > 0 && (
        <>
          <dt>Bcc</dt>
          <dd>{formatAddress(msg.bcc)}</dd>
        </>
      )}
      {msg.replyTo && (
        <>
          <dt>Reply-To</dt>
          <dd>{formatAddress(msg.replyTo)}</dd>
        </>
      )}
      <dt>Subject</dt>
      <dd className="subject">{msg.subject}</dd>
      <dt>Date</dt>
      <dd>{String(msg.date)}</dd>
      <dt>Message-ID</dt>
      <dd>
        <code>{msg.messageId}</code>
      </dd>
      <dt>Build</dt>
      <dd>
        {msg.buildStatus.replace(/_/g, ' ')}
        {msg.reasons.length > 0 ? `: ${msg.reasons.join('; ')}` : ''}
      </dd>
      <dt>Size</dt>
      <dd>{formatSize(msg.size)}</dd>
    </dl>
  );
}

function TestSend({ campaign, recipient }: { campaign: string; recipient: number }) {
  const [to, setTo] = useState('');
  const [result, setResult] = useState<TestSendResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <Section title="Test send" id="test-send">
      <form
        className="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setResult(undefined);
          setError(undefined);
          try {
            setResult(await api<TestSendResult>('POST', `/campaigns/${campaign}/test-send`, { to, recipientId: recipient }));
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Send recipient #{recipient}&apos;s message only to <input type="email" value={to} onChange={(e) => setTo(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Send test'}
        </button>
      </form>
      {result && (
        <p className="ok" role="status">
          Sent to {result.to}: {result.response}
        </p>
      )}
      <ErrorText error={error} />
    </Section>
  );
}

/**
 * What an approval now would send, and what it leaves out: blocked and excluded by the build, the
 * needs_review recipients a reviewer left out, and those nobody decided (they are not sent either).
 */
function reachOf(review: Review, total: number) {
  const n = (k: keyof Review['counts']) => review.counts[k];
  const included = review.sendable - n('ready') - n('warning');
  return {
    sendable: review.sendable,
    total,
    left: { blocked: n('blocked'), excluded: n('excluded'), 'left out by a reviewer': n('needs_review') - included - review.undecided, undecided: review.undecided },
  };
}

function Decide({
  campaign,
  fingerprint,
  schedule,
  reach,
  fourEyes,
  onDone,
  onRefused,
  onReload,
}: {
  campaign: string;
  fingerprint?: string;
  schedule?: Review['schedule'];
  /** How many an approval sends, of how many, and what it leaves out (by build status, and undecided). */
  reach: { sendable: number; total: number; left: Record<string, number> };
  fourEyes?: boolean;
  onDone: () => Promise<void>;
  /** The API refused the decision: the page reads the campaign's status again. */
  onRefused: (action: 'approve' | 'reject') => Promise<void>;
  onReload: () => Promise<void>;
}) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const decide = async (action: 'approve' | 'reject') => {
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', `/campaigns/${campaign}/${action}`, action === 'approve' ? { note: note || undefined, fingerprint } : { note: note || undefined });
      await onDone();
    } catch (err) {
      setError(err);
      await onRefused(action);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Decision" id="decide">
      <p className="meta">
        Approving sends what this page shows: fingerprint <code className="fingerprint">{fingerprint}</code>. If anything changed since the page was loaded (a decision in another tab, the list,
        the definition), the approval is refused and you are asked to look again.
        {fourEyes ? ' Four eyes: the campaign’s creator cannot approve it.' : ''}
      </p>
      <p className="reach">
        Approving sends to <strong>{reach.sendable}</strong> of {reach.total} recipient{reach.total === 1 ? '' : 's'}
        {Object.values(reach.left).some((n) => n > 0)
          ? `; not to ${Object.entries(reach.left)
              .filter(([, n]) => n > 0)
              .map(([k, n]) => `${n} ${k}`)
              .join(', ')}`
          : ''}
        .
      </p>
      {schedule && (
        <p className="schedule">
          If approved now: {schedule.summary}; the first message {when(schedule.start)}.
        </p>
      )}
      <label>
        Note <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
      </label>
      <div className="actions">
        <button type="button" className="primary" disabled={busy} onClick={() => void decide('approve')}>
          Approve and send to {reach.sendable}
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void decide('reject')}>
          Reject
        </button>
        <button type="button" disabled={busy} onClick={() => void onReload()}>
          Reload the review
        </button>
      </div>
      <ErrorText error={error} />
    </Section>
  );
}
