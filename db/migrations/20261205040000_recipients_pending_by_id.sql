-- migrate:up
-- The campaign's window refill reads the next pending recipients in list order
-- (`campaign_id = $1 AND send_status = 'pending' AND id > $cursor ORDER BY id LIMIT n`). With
-- (campaign_id, send_status) alone, PostgreSQL read every pending recipient of the campaign and
-- sorted them on each refill until statistics caught up with a freshly built list: a cost that
-- grew with the list. With `id` in the index the refill reads only the rows it returns. The new
-- index answers every query the old one did, so the old one goes.
CREATE INDEX recipients_send_status_id_idx ON recipients (campaign_id, send_status, id);
DROP INDEX recipients_send_status_idx;

-- migrate:down
CREATE INDEX recipients_send_status_idx ON recipients (campaign_id, send_status);
DROP INDEX recipients_send_status_id_idx;
