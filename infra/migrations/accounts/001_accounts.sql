-- The accounts service's read models (rebuilt from its events: accounts, api_keys)
-- and its secrets (never in events, so not rebuilt: credentials, key_secrets,
-- sessions, login_failures). A backup must keep the second group.
CREATE TABLE IF NOT EXISTS accounts (
    account_id  text        PRIMARY KEY,
    username    text        NOT NULL,
    name        text        NOT NULL,
    roles       text[]      NOT NULL,
    campus      text,
    patron_id   text        UNIQUE,
    classes     text[]      NOT NULL DEFAULT '{}',
    disabled    boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id      text        PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    rights      text[]      NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

-- An argon2id hash per account (the library's own format: $argon2id$v=19$...).
CREATE TABLE IF NOT EXISTS credentials (
    account_id  text        PRIMARY KEY,
    hash        text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- A key's secret is 256 random bits, so SHA-256 of it is enough to look it up.
CREATE TABLE IF NOT EXISTS key_secrets (
    key_id       text PRIMARY KEY,
    secret_hash  text NOT NULL UNIQUE
);

-- Sessions: the SHA-256 of the random token, never the token.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash  text        PRIMARY KEY,
    account_id  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    address     text
);
CREATE INDEX IF NOT EXISTS sessions_open_by_account ON sessions (account_id)
    WHERE ended_at IS NULL;

-- Wrong passwords in a row, and the lock they led to.
CREATE TABLE IF NOT EXISTS login_failures (
    account_id    text        PRIMARY KEY,
    failures      integer     NOT NULL,
    locked_until  timestamptz,
    last_at       timestamptz NOT NULL DEFAULT now()
);
