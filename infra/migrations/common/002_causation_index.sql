-- A retried command finds what it recorded the first time by its causation id.
CREATE INDEX IF NOT EXISTS events_causation_id ON events (causation_id);
