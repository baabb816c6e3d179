-- Offline desks' scans refused when they were sent, waiting for a librarian (services/
-- circulation/offline.py, docs/offline.md). A read model, rebuilt from events
-- (library rebuild circulation offline_conflicts):
--   OfflineScanRefused       a conflict, open
--   OfflineConflictResolved  resolved: how, by whom (the envelope's actor), when
CREATE TABLE IF NOT EXISTS offline_conflicts (
    conflict_id   text PRIMARY KEY,
    command_id    uuid NOT NULL,
    action        text NOT NULL,                    -- lend, return
    patron_id     text,
    barcode       text NOT NULL,
    at            timestamptz NOT NULL,             -- when the desk scanned it
    campus        text NOT NULL,
    code          text NOT NULL,                    -- the refusal's code
    reason        text NOT NULL,
    resolutions   text[] NOT NULL,                  -- those this conflict allows
    state         text NOT NULL DEFAULT 'open',     -- open, resolved
    resolution    text,
    resolved_by   text,                             -- the actor's username
    resolved_at   timestamptz,
    loan_id       text,
    note          text,
    position      bigint NOT NULL                   -- the refusal's: newest first
);
CREATE INDEX IF NOT EXISTS offline_conflicts_listed
    ON offline_conflicts (campus, state, position DESC);
