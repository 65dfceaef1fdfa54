// A request the domain refuses, said without HTTP: code outside src/api throws it, and the API's
// error middleware (src/api/errors.ts) is the one place that turns each kind into a status.

/**
 * `invalid`: bad input; `forbidden`: not allowed to this caller or tenant; `not_found`;
 * `conflict`: not from where the thing stands now; `throttled`: not now, try again later;
 * `upstream`: a server we spoke to (SMTP) said no; `unavailable`: this process cannot do it now.
 */
export type RefusalKind = 'invalid' | 'forbidden' | 'not_found' | 'conflict' | 'throttled' | 'upstream' | 'unavailable';

export class Refusal extends Error {
  override name = 'Refusal';
  constructor(
    readonly kind: RefusalKind,
    message: string,
    /** What the answer carries besides the message: `problems` naming fields, the current `status`. */
    readonly details: Record<string, unknown> = {},
    /** For `throttled`: seconds until trying again may succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Bad input, naming the field. */
export const invalidField = (path: string, message: string) => new Refusal('invalid', 'the request is not valid', { problems: [{ path, message }] });
