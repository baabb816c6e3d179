-- Every event of every service, verbatim, once; ordered per source.
CREATE TABLE IF NOT EXISTS archived_events (
    source       text        NOT NULL,
    position     bigint      NOT NULL,
    event_id     uuid        NOT NULL UNIQUE,
    type         text        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    envelope     jsonb       NOT NULL,
    PRIMARY KEY (source, position)
);
CREATE INDEX IF NOT EXISTS archived_events_recorded_at ON archived_events (recorded_at);
