// ApplicationFailure types: thrown by activities and workflows, read by workflows and the API.
// Plain constants only: workflow code imports this file.

/** The campaign or recipient an activity was asked about does not exist. */
export const CAMPAIGN_NOT_FOUND = 'CampaignNotFound';
/** The message rebuilt for the Sent copy is not the one that was sent. */
export const CONTENT_CHANGED = 'ContentChangedSinceSend';
/** An attachment in S3 is not the version the list was built (and reviewed) with. */
export const ATTACHMENT_CHANGED = 'AttachmentChangedSinceBuild';
/** A test send the SMTP server refused for good (a 5xx): not retried; the API answers 502 with the reply. */
export const TEST_SEND_REFUSED = 'TestSendRefused';
/** A test send refused because the account is held (quota or authentication): the API answers 409. */
export const ACCOUNT_HELD = 'AccountHeld';
/** A test send refused because the account's next slot under its limits is too far off: 429. */
export const ACCOUNT_THROTTLED = 'AccountThrottled';
/** An S3 read outside the tenant's locations (they may have been narrowed since the campaign was created). */
export const LOCATION_DENIED = 'S3LocationDenied';
/** A build that gave up because S3 refused its reads. */
export const BUILD_REFUSED = 'BuildRefused';
/** A later attempt of the same send exists; this one stops before SMTP. */
export const ATTEMPT_REPLACED = 'AttemptReplaced';
/** An SMTP reply that may succeed on a retry. */
export const SMTP_TRANSIENT = 'SmtpTransientError';
/** The campaign's account no longer exists. */
export const UNKNOWN_ACCOUNT = 'UnknownAccount';
/** An approve Update refused by the four-eyes rule. */
export const FOUR_EYES_REFUSED = 'FourEyesRefused';
/** What a validator throws when a transition is not allowed. */
export const INVALID_TRANSITION = 'InvalidTransition';
