-- The compensations register (赔偿登记): each lost book declared, each payment
-- towards it (with its receipt number and what is still owed after it) and each
-- loss settled with a new copy of its title, naming who recorded it
-- (docs/losses.md). One row an event; the reader and the book come from
-- archive_loans and archive_patrons.
CREATE TABLE IF NOT EXISTS register_compensations (
    event_id     text PRIMARY KEY,
    entry_on     date NOT NULL,
    loan_id      text NOT NULL,
    entry        text NOT NULL,      -- lost, payment, replacement
    amount       numeric(10, 2),     -- owed (lost), paid (payment), waived (replacement)
    balance      numeric(10, 2),     -- still owed after it
    receipt_no   text,
    new_barcode  text,
    taken_by     text,
    recorded_by  text,
    recorded_by_role text
);
CREATE INDEX IF NOT EXISTS register_compensations_day ON register_compensations (entry_on);
