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
