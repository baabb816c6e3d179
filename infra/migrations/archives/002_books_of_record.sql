-- The books of record, all built from events alone.

-- Every copy ever added: where it is, what it cost, what became of it.
CREATE TABLE IF NOT EXISTS ledger_copies (
    barcode         text PRIMARY KEY,
    isbn            text,
    title           text,
    classification  text,
    class_letter    text,
    campus          text,
    price           numeric(10, 2),
    acquisition     text,
    added_on        date,
    weeded_on       date,
    weed_reason     text,
    on_loan         boolean NOT NULL DEFAULT false,
    in_repair       boolean NOT NULL DEFAULT false,
    lost            boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS ledger_copies_campus ON ledger_copies (campus, class_letter);

-- Dated movements of the collection (additions, write-offs, transfers), for
-- the general and classification ledgers over any period.
CREATE TABLE IF NOT EXISTS ledger_entries (
    source        text    NOT NULL,
    position      bigint  NOT NULL,
    campus        text    NOT NULL,
    entry_on      date    NOT NULL,
    entry         text    NOT NULL,   -- added, weeded, transferred_in, transferred_out
    class_letter  text    NOT NULL,
    copies        integer NOT NULL,   -- +1 in, -1 out
    value         numeric(10, 2) NOT NULL,
    PRIMARY KEY (source, position, campus)
);
CREATE INDEX IF NOT EXISTS ledger_entries_on ON ledger_entries (entry_on);

-- Cards and loans, for the staff-loans register and the term report.
CREATE TABLE IF NOT EXISTS archive_patrons (
    patron_id   text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL,
    class_name  text,
    campus      text NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_loans (
    loan_id      text PRIMARY KEY,
    patron_id    text NOT NULL,
    patron_kind  text NOT NULL,
    class_name   text,
    campus       text NOT NULL,
    barcode      text NOT NULL,
    isbn         text,
    title        text,
    lent_on      date NOT NULL,
    due_on       date NOT NULL,
    returned_on  date,
    status       text NOT NULL DEFAULT 'open'    -- open, returned, lost
);
CREATE INDEX IF NOT EXISTS archive_loans_lent_on ON archive_loans (lent_on);
CREATE TABLE IF NOT EXISTS archive_reservations (
    reservation_id  text PRIMARY KEY,
    patron_id       text NOT NULL,
    isbn            text NOT NULL,
    campus          text NOT NULL,
    reserved_on     date NOT NULL,
    status          text NOT NULL DEFAULT 'open',   -- open, fulfilled, cancelled
    loan_id         text
);

-- Purchases register: one line per (day, title, campus, unit price).
CREATE TABLE IF NOT EXISTS register_purchases (
    purchased_on  date           NOT NULL,
    isbn          text           NOT NULL,
    title         text           NOT NULL,
    author        text           NOT NULL,
    campus        text           NOT NULL,
    unit_price    numeric(10, 2) NOT NULL,
    copies        integer        NOT NULL,
    PRIMARY KEY (purchased_on, isbn, campus, unit_price)
);

-- Repairs register: one line per damage, closed by its repair.
CREATE TABLE IF NOT EXISTS register_repairs (
    damage_id    uuid PRIMARY KEY,
    barcode      text NOT NULL,
    damaged_on   date NOT NULL,
    note         text NOT NULL DEFAULT '',
    loan_id      text,
    repaired_on  date,
    repair_note  text
);
CREATE INDEX IF NOT EXISTS register_repairs_open ON register_repairs (barcode) WHERE repaired_on IS NULL;

-- Closed terms and their frozen reports.
CREATE TABLE IF NOT EXISTS term_reports (
    term       text PRIMARY KEY,
    closed_on  date  NOT NULL,
    report     jsonb NOT NULL
);
