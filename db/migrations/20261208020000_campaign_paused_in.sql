-- migrate:up
-- The status beneath a pause (sending, scheduled, or pilot_sent when the pilot batch finished
-- under it): what a paused campaign still allows besides resume and cancel. Null unless paused.
ALTER TABLE campaigns ADD COLUMN paused_in text;

-- migrate:down
ALTER TABLE campaigns DROP COLUMN paused_in;
