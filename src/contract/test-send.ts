// How long a test send may take, end to end. The API waits for the answer while a person waits
// for the page, so every wait inside it fits in the one before: an attempt's slot waits in its
// attempt, the attempts in the workflow's budget, the budget in the API's deadline. A stalled
// attempt (an SMTP server that does not answer, an S3 read that hangs) is then cut and retried
// while the person still waits, and nothing is started after the API has answered.
// Plain constants only: workflow code imports this file.

/** An attempt's waits for a slot under the account's limits, together; a slot further off is refused (429). */
export const TEST_SEND_MAX_WAIT_MS = 20_000;
/** One attempt: the slot waits, the render and the SMTP transaction. */
export const TEST_SEND_ATTEMPT_MS = 30_000;
/** Every attempt together (the activity's schedule-to-close timeout): then the workflow fails and says so. */
export const TEST_SEND_BUDGET_MS = 45_000;
/**
 * How long the API waits for the workflow's answer: the budget, and room for starting the
 * workflow and running its tasks on a loaded Temporal. It is also the workflow's execution
 * timeout, so a test send whose workflow no worker picked up in time never goes later.
 */
export const TEST_SEND_DEADLINE_MS = TEST_SEND_BUDGET_MS + 15_000;
