-- Reserved books ready at the desk and the e-mails the library sends (services/circulation/
-- holds.py, notices.py). Read models, rebuilt from events:
--   holds             HoldReady / HoldExpired / ReservationFulfilled|Cancelled (inline)
--   notices           NoticeSent (inline): who was told what, when, delivered or failed
--   notice_addresses  the accounts' e-mail addresses and classes (accounts' events)
CREATE TABLE IF NOT EXISTS holds (
    reservation_id  text PRIMARY KEY,
    patron_id       text NOT NULL,
    barcode         text NOT NULL,
    campus          text NOT NULL,
    isbn            text NOT NULL,
    title           text NOT NULL,
    ready_on        date NOT NULL,
    pick_up_by      date NOT NULL,
    status          text NOT NULL DEFAULT 'ready',   -- ready, picked_up, expired, cancelled
    notice_id       text,                            -- the NoticeSent that told the reader
    claimed_at      timestamptz                      -- a sender took it (see notifying.py)
);
CREATE INDEX IF NOT EXISTS holds_ready ON holds (pick_up_by) WHERE status = 'ready';

CREATE TABLE IF NOT EXISTS notices (
    notice_id       text PRIMARY KEY,
    kind            text NOT NULL,                   -- overdue, hold_ready
    account_id      text NOT NULL,
    name            text NOT NULL,
    email           text NOT NULL,
    language        text NOT NULL,
    subject         text NOT NULL,
    class_name      text,
    loan_ids        text[] NOT NULL DEFAULT '{}',
    reservation_id  text,
    outcome         text NOT NULL,                   -- delivered, failed
    error           text,
    sent_at         timestamptz NOT NULL,
    position        bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_sent ON notices (sent_at DESC);

CREATE TABLE IF NOT EXISTS notice_addresses (
    account_id  text PRIMARY KEY,
    name        text NOT NULL,
    roles       text[] NOT NULL,
    patron_id   text,
    classes     text[] NOT NULL DEFAULT '{}',
    email       text,
    disabled    boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS notice_addresses_patron ON notice_addresses (patron_id);
