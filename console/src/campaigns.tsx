import { useEffect, useMemo, useRef, useState } from 'react';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import { ACTION_STATUSES, BUILD_STATUSES, CAMPAIGN_STATUSES, COPY_STATUSES, FINAL_CAMPAIGN_STATUSES, NOT_SENT_STATUSES, SEND_STATUSES, type CampaignAction } from '../../src/contract/statuses.js';
import { api, campaignActions, download, qs, type Campaign, type CampaignCounts, type CampaignList as CampaignListAnswer, type Pilot, type RecipientList, type SentPerMinute } from './api';
import { AuditTrail, ConfirmButton, ErrorText, Pager, Progress, SafeLink, Section, StatusBadge, usePoll, useCursorPages, when } from './ui';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

/** The list's status filter: the statuses a campaign moves through, then those it ends in (the API's own lists). */
const FILTER_STATUSES = [...CAMPAIGN_STATUSES.filter((s) => !FINAL_CAMPAIGN_STATUSES.includes(s)), ...FINAL_CAMPAIGN_STATUSES];

const doneOf = (c: CampaignCounts) => c.total - c.pending;

/** The campaign page's reject: the one after the pilot batch. A review still open is rejected (or approved) on the review page. */
const REJECT_HERE = ACTION_STATUSES.reject.filter((s) => !ACTION_STATUSES.approve.includes(s));

type NotSent = Record<(typeof NOT_SENT_STATUSES)[number], number>;

/**
 * "4 of 4 done · 3 sent · 0 failed · 1 skipped": what is done and what became of it, the done but
 * unsent (skipped, cancelled, bounced) named when there are any, so the numbers add up. The list
 * and the campaign page say it alike.
 */
const outcome = (c: CampaignCounts, notSent: NotSent) =>
  [`${doneOf(c)} of ${c.total} done`, `${c.sent} sent`, `${c.failed} failed`, ...NOT_SENT_STATUSES.filter((k) => notSent[k] > 0).map((k) => `${notSent[k]} ${k}`)].join(' · ');

export function CampaignList({ can }: { can: (s: string) => boolean }) {
  const [status, setStatus] = useState('');
  const pages = useCursorPages();
  const { data, error } = usePoll(() => api<CampaignListAnswer>('GET', `/campaigns${qs({ status, limit: 20, cursor: pages.cursor })}`), [status, pages.cursor], 3000);
  return (
    <>
      <h1>Campaigns</h1>
      <div className="toolbar">
        <label>
          Status{' '}
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              pages.reset();
            }}
          >
            <option value="">all</option>
            {FILTER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
        {can('campaigns:write') && <a className="button" href="#/campaigns/new">New campaign</a>}
      </div>
      <ErrorText error={error} />
      {/* On a phone the Sent copies and Created columns fold under the progress (phone-only), so the table fits the screen. */}
      <table className="list campaigns folds">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Progress</th>
            <th className="wide-only">Sent copies</th>
            <th className="wide-only">Created</th>
          </tr>
        </thead>
        <tbody>
          {data?.items.map((c) => (
            <tr key={c.id} className="campaign-row">
              <td className="name">
                <a href={`#/campaigns/${c.id}`}>{c.name}</a>
              </td>
              <td>
                <StatusBadge status={c.status} />
              </td>
              <td>
                {c.counts && (
                  <>
                    <Progress done={doneOf(c.counts)} total={c.counts.total} label={`progress of ${c.name}`} /> <span className="outcome">{outcome(c.counts, c.counts)}</span>
                  </>
                )}
                <div className="phone-only meta">
                  {c.counts ? `${c.counts.appended} Sent copies · ` : ''}created {when(c.createdAt)}
                </div>
              </td>
              <td className="wide-only">{c.counts?.appended}</td>
              <td className="wide-only">{when(c.createdAt)}</td>
            </tr>
          ))}
          {data && data.items.length === 0 && (
            <tr>
              <td colSpan={5}>No campaigns{status ? ` with status ${status.replace(/_/g, ' ')}` : ''}.</td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager page={pages.page} onPrev={pages.prev} next={data?.nextCursor} onNext={pages.next} />
    </>
  );
}


function CountTable({ title, counts }: { title: string; counts: Record<string, number> }) {
  return (
    <table className="counts" aria-label={title}>
      <caption>{title}</caption>
      <tbody>
        {Object.entries(counts).map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k.replace(/_/g, ' ')}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CampaignPage({ id, can }: { id: string; can: (s: string) => boolean }) {
  const { data: c, error, refresh } = usePoll(() => api<Campaign>('GET', `/campaigns/${id}`), [id], 2000);
  const [csvError, setCsvError] = useState<unknown>();
  // An action whose confirmation or error is on screen stays there when the polled status moves on.
  const [sticky, setSticky] = useState<Record<string, boolean>>({});
  const stick = (action: string) => (on: boolean) => setSticky((s) => (s[action] === on ? s : { ...s, [action]: on }));
  const send = useMemo(() => campaignActions(id), [id]);
  // An action the campaign accepted but had not finished when the API answered (202): said until the status moves.
  const [underWay, setUnderWay] = useState<{ text: string; status: string }>();
  if (error && !c) return <ErrorText error={error} />;
  if (!c) return <p>Loading…</p>;
  // A button is offered in the statuses the workflow allows its action in (ACTION_STATUSES).
  const offer = (action: CampaignAction, allowedFrom = ACTION_STATUSES[action]) => can('campaigns:write') && (allowedFrom.includes(c.status) || !!sticky[action]);
  const act = (action: string, body: Record<string, unknown> = {}) => async () => {
    setUnderWay(undefined);
    try {
      const { underWay: text } = await send(action, body);
      if (text) setUnderWay({ text, status: c.status });
    } finally {
      // Refused too (a 409: someone else acted first), the page shows the status as it is now.
      await refresh();
    }
  };
  // A review or a pilot's answer is asked of the status beneath a pause, as the workflow asks it:
  // a campaign paused while its pilot batch went out still takes a continue or a reject.
  const beneath = c.pausedIn ?? c.status;
  const review = (action: CampaignAction, allowedFrom = ACTION_STATUSES[action]) => can('campaigns:review') && (allowedFrom.includes(beneath) || !!sticky[action]);
  const stopped = beneath === 'pilot_sent' && !!c.pilot?.stopped;
  const paused = c.status === 'paused';
  return (
    <>
      <h1>
        {c.name} <StatusBadge status={c.status} />
      </h1>
      <ErrorText error={error} />
      {c.reason && <p className="reason">Reason: {c.reason}</p>}
      {c.error && <p className="reason">Error: {c.error}</p>}
      {c.account?.holdReason && <p className="reason">Account held since {when(c.account.heldSince)}: {c.account.holdReason}</p>}
      {c.account?.slowedDownUntil && <p className="reason">Account slowed down until {when(c.account.slowedDownUntil)}{c.account.slowDownReason ? `: ${c.account.slowDownReason}` : ''}</p>}
      {underWay && underWay.status === c.status && (
        <p className="reason" role="status">
          {underWay.text[0]!.toUpperCase() + underWay.text.slice(1)}.
        </p>
      )}
      <CampaignSummary c={c} />
      <div className="actions">
        {c.status === 'awaiting_review' && <a className="button primary" href={`#/campaigns/${id}/review`}>Review</a>}
        {c.status !== 'building' && c.status !== 'awaiting_review' && <a className="button" href={`#/campaigns/${id}/review`}>Build report</a>}
        {offer('pause') && (
          <ConfirmButton label="Pause" question="Pause this campaign? No new message is sent until it is resumed." action={act('pause')} onSticky={stick('pause')} />
        )}
        {offer('resume') && <ConfirmButton label="Resume" question="Resume sending where it stopped?" action={act('resume')} onSticky={stick('resume')} />}
        {review('continue') && (
          <ConfirmButton
            className="primary"
            label={stopped ? 'Continue anyway' : 'Continue'}
            question={`${stopped ? 'The pilot reached its stop share. Send the rest anyway?' : paused ? 'Send the rest of the list?' : 'Send the rest of the list now?'}${paused ? ' It stays paused: the rest goes once it is resumed.' : ''}`}
            action={act('continue', stopped ? { force: true } : {})}
            onSticky={stick('continue')}
          />
        )}
        {review('reject', REJECT_HERE) && (
          <ConfirmButton className="danger" label="Reject after pilot" question="Reject it? Nothing more is sent; this cannot be undone." action={act('reject')} onSticky={stick('reject')} />
        )}
        {offer('cancel') && (
          <ConfirmButton className="danger" label="Cancel campaign" question="Cancel it? Nothing more is sent; this cannot be undone." action={act('cancel')} onSticky={stick('cancel')} />
        )}
        <button
          type="button"
          onClick={() => {
            setCsvError(undefined);
            download(`/campaigns/${id}/report.csv`, `campaign-${id}.csv`, 'text/csv').catch(setCsvError);
          }}
        >
          Download report.csv
        </button>
        <ErrorText error={csvError} />
      </div>
      {c.pilot && <PilotResults pilot={c.pilot} />}
      {c.countsByStatus && (
        <div className="count-tables">
          <CountTable title="Build" counts={c.countsByStatus.build} />
          <CountTable title="Send" counts={c.countsByStatus.send} />
          <CountTable title="Sent copy" counts={c.countsByStatus.copy} />
          {c.replies && <CountTable title="Answers" counts={{ replied: c.replies.replied, 'answered automatically': c.replies.autoReplied }} />}
        </div>
      )}
      {c.status !== 'building' && <RateChart id={id} />}
      <Recipients id={id} />
      {can('keys:admin') ? <AuditTrail campaign={id} /> : <p className="meta">The audit trail needs a key with keys:admin.</p>}
    </>
  );
}

/** Where a campaign stands: building or sending progress, answers, the expected schedule, who made and decided it. */
function CampaignSummary({ c }: { c: Campaign }) {
  const done = doneOf(c.counts);
  return (
    <div className="summary">
      {c.status === 'building' ? (
        <p>
          Building the list: {c.build?.read ?? 0} entries read{c.build?.percent !== undefined ? ` (${c.build.percent}%)` : ''}
          {c.build?.eta ? `, done about ${when(c.build.eta)}` : ''}.
        </p>
      ) : (
        <p>
          <Progress done={done} total={c.counts.total} label="campaign progress" /> {outcome(c.counts, c.countsByStatus.send)} · {c.counts.appended} Sent copies filed
          {c.eta ? ` · ETA ${when(c.eta.at)} at ${c.eta.perMinute}/min (${c.eta.basis})` : ''}
        </p>
      )}
      {c.replies && (c.replies.replied > 0 || c.replies.autoReplied > 0) && (
        <p className="replies">
          {c.replies.replied} replied · {c.replies.autoReplied} answered only automatically (out of office)
        </p>
      )}
      {c.status !== 'building' && c.schedule && (
        <p className="schedule meta">
          Expected schedule: {c.schedule.summary}; the first message {when(c.schedule.start)} (planned with the account&apos;s queue, limits and send windows).
        </p>
      )}
      <p className="meta">
        Account {c.account?.name} · created by {c.createdBy ?? 'unknown'} {when(c.createdAt)} · workflow <code>{c.workflowId}</code>{' '}
        <SafeLink href={c.temporalUrl}>Open in the Temporal UI</SafeLink>
      </p>
      {c.review && (
        <p className="meta">
          Decided by {c.review.by} {when(c.review.at)}
          {c.review.note ? `: “${c.review.note}”` : ''}
        </p>
      )}
    </div>
  );
}

/** A share (0.123) as a percentage with one decimal (12.3). */
const percent = (share: number) => Math.round(share * 1000) / 10;

/** The pilot batch: what was asked for and how it went, with the SMTP replies of its failures. */
function PilotResults({ pilot }: { pilot: Pilot }) {
  const asked = pilot.size !== undefined ? `${pilot.size} recipients` : `${percent(pilot.share ?? 0)}% of the list`;
  return (
    <Section title="Pilot batch">
      <p>
        {asked} ({pilot.sample === 'random' ? 'a random sample' : 'the first in list order'})
        {pilot.stopIf ? `; stops when ${percent(pilot.stopIf.failedShare)}% or more fail or bounce` : ''}.
      </p>
      {pilot.chosen === 0 ? (
        <p className="meta">The pilot batch is chosen once the campaign is approved.</p>
      ) : (
        <p aria-label="pilot results">
          {pilot.chosen} in the pilot · {pilot.sent} sent · {pilot.failed} failed · {pilot.bounced} bounced · {pilot.pending} still to go
        </p>
      )}
      {pilot.stopped && <p className="reason">Stopped: {pilot.stopped}. Continue sends the rest anyway.</p>}
      {pilot.failures.length > 0 && (
        <table aria-label="pilot failures">
          <thead>
            <tr>
              <th>Recipient</th>
              <th>Status</th>
              <th>SMTP reply</th>
            </tr>
          </thead>
          <tbody>
            {pilot.failures.map((f) => (
              <tr key={f.id}>
                <td>
                  #{f.id} {f.email}
                </td>
                <td>{f.sendStatus}</td>
                <td>{f.smtpResponse ?? f.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function RateChart({ id }: { id: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  const { data, error } = usePoll(() => api<SentPerMinute>('GET', `/campaigns/${id}/sent-per-minute?minutes=30`), [id], 5000);
  useEffect(() => {
    if (!canvas.current || !data) return;
    const labels = data.minutes.map((m) => new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    const sent = data.minutes.map((m) => m.sent);
    const limit = data.limit.messagesPerMinute;
    const datasets: ChartDataset<'bar' | 'line', number[]>[] = [{ type: 'bar', label: 'sent per minute', data: sent, backgroundColor: '#3b6fd1' }];
    if (limit !== undefined) datasets.push({ type: 'line', label: `limit (${data.limit.from}) ${limit}/min`, data: sent.map(() => limit), borderColor: '#c0392b', pointRadius: 0, borderDash: [6, 4] });
    if (!chart.current) {
      chart.current = new Chart(canvas.current, {
        type: 'bar',
        data: { labels, datasets },
        options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    } else {
      chart.current.data.labels = labels;
      chart.current.data.datasets = datasets;
      chart.current.update();
    }
  }, [data]);
  useEffect(() => () => chart.current?.destroy(), []);
  return (
    <Section title="Messages sent per minute (last 30 minutes)">
      <ErrorText error={error} />
      {data && data.limit.messagesPerMinute === undefined && <p className="meta">No per-minute limit: neither this campaign nor its account sets one.</p>}
      <div className="chart">
        <canvas ref={canvas} role="img" aria-label="messages sent per minute against the limit" />
      </div>
      {data && (
        <p className="chart-summary meta">
          {data.minutes.reduce((n, m) => n + m.sent, 0)} sent in the last 30 minutes; busiest minute {Math.max(0, ...data.minutes.map((m) => m.sent))}
          {data.limit.messagesPerMinute !== undefined ? `; limit ${data.limit.messagesPerMinute}/min (${data.limit.from})` : ''}.
        </p>
      )}
    </Section>
  );
}

function Recipients({ id }: { id: string }) {
  const [filter, setFilter] = useState({ status: '', buildStatus: '', copyStatus: '' });
  const pages = useCursorPages();
  const { data, error } = usePoll(() => api<RecipientList>('GET', `/campaigns/${id}/recipients${qs({ ...filter, limit: 25, cursor: pages.cursor })}`), [id, filter, pages.cursor], 4000);
  const select = (name: keyof typeof filter, label: string, values: readonly string[]) => (
    <label>
      {label}{' '}
      <select
        value={filter[name]}
        onChange={(e) => {
          setFilter({ ...filter, [name]: e.target.value });
          pages.reset();
        }}
      >
        <option value="">all</option>
        {values.map((v) => (
          <option key={v} value={v}>
            {v.replace(/_/g, ' ')}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Section title="Recipients" id="recipients">
      <div className="toolbar">
        {select('status', 'Send', SEND_STATUSES)}
        {select('buildStatus', 'Build', BUILD_STATUSES)}
        {select('copyStatus', 'Sent copy', COPY_STATUSES)}
      </div>
      <ErrorText error={error} />
      {/* On a phone the columns marked wide-only fold into the address and send cells (phone-only), so the table fits the screen. */}
      <table className="list recipients folds">
        <thead>
          <tr>
            <th>#</th>
            <th>Address</th>
            <th className="wide-only">Name</th>
            <th>Build</th>
            <th>Send</th>
            <th className="wide-only">Copy</th>
            <th className="wide-only">SMTP reply / error</th>
            <th className="wide-only">Sent</th>
            <th className="wide-only">Answer</th>
          </tr>
        </thead>
        <tbody>
          {data?.items.map((r) => {
            const smtp = r.smtpResponse ?? r.error;
            const answer = r.reply ? `${r.reply.kind === 'replied' ? 'replied' : 'automatic answer'} ${when(r.reply.at)}` : '';
            return (
              <tr key={r.id}>
                <td>{r.id}</td>
                <td className="address">
                  {r.email}
                  {r.name && <div className="phone-only meta">{r.name}</div>}
                </td>
                <td className="wide-only">{r.name}</td>
                <td>
                  {r.buildStatus.replace(/_/g, ' ')}
                  {r.buildReasons.length > 0 && <div className="reasons">{r.buildReasons.join('; ')}</div>}
                </td>
                <td>
                  {r.sendStatus}
                  <div className="phone-only meta">
                    {r.copyStatus !== 'not_requested' && <div>copy {r.copyStatus.replace(/_/g, ' ')}</div>}
                    {r.sentAt && <div>sent {when(r.sentAt)}</div>}
                    {answer && <div>{answer}</div>}
                    {smtp && <div className="smtp">{smtp}</div>}
                  </div>
                </td>
                <td className="wide-only">{r.copyStatus.replace(/_/g, ' ')}</td>
                <td className="smtp wide-only">{smtp}</td>
                <td className="wide-only">{when(r.sentAt)}</td>
                <td className="wide-only">{answer}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Pager page={pages.page} onPrev={pages.prev} next={data?.nextCursor} onNext={pages.next} />
    </Section>
  );
}
