-- Read models of circulation's own events, kept in the transaction that records
-- them (inline projections), plus the loan columns of the copy model.
ALTER TABLE copy_availability
    ADD COLUMN IF NOT EXISTS loan_id   text,
    ADD COLUMN IF NOT EXISTS patron_id text,
    ADD COLUMN IF NOT EXISTS due_on    date;
CREATE INDEX IF NOT EXISTS copy_availability_isbn ON copy_availability (isbn, campus);

CREATE SEQUENCE IF NOT EXISTS patron_seq START 1;

CREATE TABLE IF NOT EXISTS patrons (
    patron_id   text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL,
    class_name  text,
    grade       text,
    campus      text NOT NULL,
    status      text NOT NULL,
    owed        numeric(10, 2) NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS patrons_class ON patrons (class_name);
CREATE INDEX IF NOT EXISTS patrons_grade ON patrons (grade);

CREATE TABLE IF NOT EXISTS loans (
    loan_id           text PRIMARY KEY,
    patron_id         text NOT NULL,
    barcode           text NOT NULL,
    isbn              text,
    title             text,
    classification    text,
    patron_kind       text NOT NULL,
    class_name        text,
    campus            text NOT NULL,
    lent_on           date NOT NULL,
    due_on            date NOT NULL,
    renewed           boolean NOT NULL DEFAULT false,
    status            text NOT NULL DEFAULT 'open',   -- open, returned, lost
    returned_on       date,
    returned_campus   text,
    condition         text,
    overdue_days      integer,
    replacement_cost  numeric(10, 2),
    paid              boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS loans_open_by_patron ON loans (patron_id) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS loans_open_by_due ON loans (due_on) WHERE status = 'open';

CREATE TABLE IF NOT EXISTS reservations (
    reservation_id  text PRIMARY KEY,
    patron_id       text NOT NULL,
    isbn            text NOT NULL,
    campus          text NOT NULL,
    status          text NOT NULL DEFAULT 'open',    -- open, fulfilled, cancelled
    loan_id         text,
    reserved_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_open ON reservations (isbn, campus) WHERE status = 'open';
