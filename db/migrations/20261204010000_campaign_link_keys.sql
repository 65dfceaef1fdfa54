-- migrate:up
-- The key a campaign's one-click unsubscribe links are signed with: random per campaign, so a link
-- keeps working through any rotation of MASTER_KEY or UNSUBSCRIBE_KEY. Campaigns from before it
-- have none, and their links are checked under the installation's keys as before.
ALTER TABLE campaigns ADD COLUMN link_key bytea;

-- migrate:down
ALTER TABLE campaigns DROP COLUMN link_key;
