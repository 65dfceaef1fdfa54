-- migrate:up
-- Answers found in the account's INBOX beside the send status (src/bounces/replies.ts): a person's
-- reply (`replied`) or an automatic answer such as an out-of-office (`auto_replied`), when it was
-- found and the answer's own Message-ID. Never its body.
ALTER TABLE recipients
  ADD COLUMN reply_kind text CHECK (reply_kind IN ('replied', 'auto_replied')),
  ADD COLUMN replied_at timestamptz,
  ADD COLUMN reply_message_id text,
  -- A threaded follow-up (a reminder): the Message-ID of the message this recipient got from the
  -- original campaign, written as In-Reply-To and References of the follow-up's message.
  ADD COLUMN thread_message_id text;

-- migrate:down
ALTER TABLE recipients
  DROP COLUMN thread_message_id,
  DROP COLUMN reply_message_id,
  DROP COLUMN replied_at,
  DROP COLUMN reply_kind;
