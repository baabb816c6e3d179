-- The event store every service keeps in its own database: an append-only log.
-- position is the gapless per-service order readers tail by; (stream_id,
-- stream_version) gives each aggregate its own order and optimistic concurrency.
CREATE TABLE IF NOT EXISTS events (
    position        bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    campus          text,
    correlation_id  text,
    causation_id    text,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    data            jsonb       NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

-- Append-only: history is never edited or removed.
CREATE OR REPLACE FUNCTION events_are_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS events_append_only ON events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

-- How far the relay has published the log to RabbitMQ.
CREATE TABLE IF NOT EXISTS relay_progress (
    exchange    text        PRIMARY KEY,
    position    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- How far each projection has applied each source's events; updated in the same
-- transaction as the projection's tables.
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection  text        NOT NULL,
    source      text        NOT NULL,
    position    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, source)
);

-- Events a projection could not apply after retries: skipped so the projection
-- goes on, kept here (and in the dead-letter queue) until retried.
CREATE TABLE IF NOT EXISTS parked_events (
    projection  text        NOT NULL,
    source      text        NOT NULL,
    position    bigint      NOT NULL,
    event_id    uuid        NOT NULL,
    envelope    jsonb       NOT NULL,
    error       text        NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, source, position)
);
