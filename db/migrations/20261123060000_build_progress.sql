-- migrate:up
-- How far the build has read its list: written with every batch, shown while the campaign builds.
ALTER TABLE campaigns ADD COLUMN build_progress jsonb;

-- migrate:down
ALTER TABLE campaigns DROP COLUMN build_progress;
