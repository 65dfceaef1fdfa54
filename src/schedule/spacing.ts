// How far apart messages go under a per-minute limit: the one rule the throttle reserves slots by
// and the expected schedule plays forward.

/**
 * Slots are spaced a little wider than 60 s / rate, and the per-minute window is this much wider
 * than a minute, so the jitter between a slot and the server's receipt never packs rate+1
 * messages into the provider's minute.
 */
export const SPACING_MARGIN = 1.01;

/** The gap between two slots under `perMinute` (0 when there is no limit). */
export const spacingMs = (perMinute: number | undefined): number => (perMinute ? (60_000 / perMinute) * SPACING_MARGIN : 0);

/** The span in which at most `perMinute` SMTP transactions may start. */
export const MINUTE_WINDOW_MS = 60_000 * SPACING_MARGIN;
