-- A copy's history names who did each step: the account's name, from its
-- AccountCreated (the archives keep the accounts' events), found by the account id
-- an event's actor carries (services/archives/queries.py COPY_HISTORY).
CREATE INDEX IF NOT EXISTS archived_events_account
    ON archived_events ((envelope->'data'->>'account_id'))
    WHERE source = 'accounts' AND type = 'AccountCreated';
