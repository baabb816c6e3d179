-- Who did what. Every archived event keeps its envelope's actor (the account or
-- API key a command was carried out for: {"id", "username", "role"}); NULL for
-- events recorded before envelopes carried one and for what the system did.
ALTER TABLE archived_events ADD COLUMN IF NOT EXISTS actor jsonb;
-- audit(): one actor's events newest first, by username or by id, a page at a time
-- (each index gives the rows in the order the page is read, so no sort, no scan).
CREATE INDEX IF NOT EXISTS archived_events_actor_username
    ON archived_events ((actor->>'username'), recorded_at, source, position);
CREATE INDEX IF NOT EXISTS archived_events_actor_id
    ON archived_events ((actor->>'id'), recorded_at, source, position);
-- copy_history(): every source's events about one copy.
CREATE INDEX IF NOT EXISTS archived_events_barcode
    ON archived_events ((envelope->'data'->>'barcode'));

-- The books of record name who recorded each line (the actor's username and role):
-- the act that opened it and, for loans and repairs, the act that closed it.
-- Lines recorded before this migration have none (NULL).
ALTER TABLE ledger_copies
    ADD COLUMN IF NOT EXISTS weeded_by text,
    ADD COLUMN IF NOT EXISTS weeded_by_role text;
ALTER TABLE archive_loans
    ADD COLUMN IF NOT EXISTS lent_by text,
    ADD COLUMN IF NOT EXISTS lent_by_role text,
    ADD COLUMN IF NOT EXISTS returned_by text,
    ADD COLUMN IF NOT EXISTS returned_by_role text;
ALTER TABLE archive_reservations
    ADD COLUMN IF NOT EXISTS reserved_by text,
    ADD COLUMN IF NOT EXISTS reserved_by_role text;
ALTER TABLE register_repairs
    ADD COLUMN IF NOT EXISTS reported_by text,
    ADD COLUMN IF NOT EXISTS reported_by_role text,
    ADD COLUMN IF NOT EXISTS repaired_by text,
    ADD COLUMN IF NOT EXISTS repaired_by_role text;
-- A purchases line is one (day, title, campus, unit price) as recorded by one
-- person: two librarians adding the same title the same day make two lines.
-- NULLS NOT DISTINCT: the lines from before (no one) stay one line each.
ALTER TABLE register_purchases
    ADD COLUMN IF NOT EXISTS added_by text,
    ADD COLUMN IF NOT EXISTS added_by_role text;
ALTER TABLE register_purchases DROP CONSTRAINT IF EXISTS register_purchases_pkey;
CREATE UNIQUE INDEX IF NOT EXISTS register_purchases_line
    ON register_purchases (purchased_on, isbn, campus, unit_price, added_by, added_by_role)
    NULLS NOT DISTINCT;
