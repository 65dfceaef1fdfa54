// The Liquid options every render uses: the worker and the API (src/mail/templates.ts) and the
// console's live preview (console/src/new-campaign.tsx), so a preview renders as the message will.
// Plain values only: the console bundles this file.

export const LIQUID_OPTIONS = {
  /** A variable that is not defined for a recipient is an error, never an empty string. */
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  /** Dates render in UTC wherever the template is rendered. */
  timezoneOffset: 0,
} as const;
