-- migrate:up
-- Which activity attempt owns a recipient's send. Every attempt raises `send_rank` to its own
-- rank (when Temporal scheduled it) as it starts; right before SMTP it claims the message only
-- while the rank is still its own, so an attempt Temporal has replaced never starts SMTP.
ALTER TABLE recipients ADD COLUMN send_rank bigint;
-- The attempt inside (or last inside) the SMTP transaction: its rank and who ran it.
ALTER TABLE delivery_ledger ADD COLUMN owner_rank bigint, ADD COLUMN owner text;

-- migrate:down
ALTER TABLE delivery_ledger DROP COLUMN owner_rank, DROP COLUMN owner;
ALTER TABLE recipients DROP COLUMN send_rank;
