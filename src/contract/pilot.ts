// The pilot batch's stop rule, shared by the workflow (when the pilot is out) and the API (when a
// continue comes, with bounces that arrived since). Plain code only: workflow code imports this file.

const percent = (x: number) => `${Math.round(x * 1000) / 10}%`;

/** Why the pilot stops the campaign (at least `failedShare` of it failed or bounced), or undefined. */
export function pilotStopReason(o: { size: number; failed: number; bounced: number }, stopIf: { failedShare: number } | undefined): string | undefined {
  const bad = o.failed + o.bounced;
  const share = o.size > 0 ? bad / o.size : 0;
  if (!stopIf || share < stopIf.failedShare) return undefined;
  return `${bad} of ${o.size} pilot recipients failed or bounced (${percent(share)}), at least the stopIf share of ${percent(stopIf.failedShare)}`;
}

/**
 * What a campaign at `pilot_sent` says of its pilot: the stop share when reached, else the batch's
 * outcome. The workflow writes it when the batch is out; GET /campaigns/:id says it again from the
 * outcome as it is when read, with the bounces that arrived since.
 */
export function pilotSentReason(o: { size: number; sent: number; failed: number; bounced: number }, stopIf: { failedShare: number } | undefined): string {
  return pilotStopReason(o, stopIf) ?? `the pilot batch of ${o.size} was sent (${o.sent} sent, ${o.failed + o.bounced} failed or bounced); continue sends the rest`;
}

/** What a campaign whose pilot batch took every recipient says when it completes: nothing was left to continue. */
export function pilotWholeListReason(o: { size: number; sent: number; failed: number; bounced: number }): string {
  return `the pilot batch of ${o.size} was the whole list (${o.sent} sent, ${o.failed + o.bounced} failed or bounced); nothing was left to continue`;
}

/** Whether a status reason is one pilotSentReason wrote (not, say, a refused continue Signal's). */
export const isPilotSentReason = (reason: string | null | undefined): boolean =>
  reason != null && (/^the pilot batch of \d+ was sent \(/.test(reason) || /^\d+ of \d+ pilot recipients failed or bounced \(/.test(reason));

/** What a campaign says of a person's decision at `pilot_sent`: who, their note, and a force past the stop share. */
export function pilotDecisionReason(action: 'continue' | 'reject', d: { by: string; note?: string; reason?: string }): string {
  return `${action === 'continue' ? 'continued' : 'rejected'} after the pilot by ${d.by}${d.note ? `: ${d.note}` : ''}${d.reason ? ` (${d.reason})` : ''}`;
}
