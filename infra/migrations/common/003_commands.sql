-- Every command that carried a command_id (the caller's idempotency key): which
-- command it was, a fingerprint of its parameters, and what it answered. Sent again
-- with the same command and parameters it is answered from here, not redone; with
-- another command or other parameters it is refused (command_id_reused).
CREATE TABLE IF NOT EXISTS commands (
    command_id   text        PRIMARY KEY,
    name         text        NOT NULL,
    fingerprint  text        NOT NULL,
    receipt      jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
