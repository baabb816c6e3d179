-- Who did it: the account or API key a command was carried out for
-- ({"id", "username", "role"}), or the actor of the event a service reacted to.
-- NULL for events recorded before envelopes carried an actor and for what the
-- system did on its own. Additive: readers that ignore the column are unchanged.
ALTER TABLE events ADD COLUMN IF NOT EXISTS actor jsonb;
