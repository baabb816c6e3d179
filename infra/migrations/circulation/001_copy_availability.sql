-- Circulation's own model of the copies, fed by catalog's events.
CREATE TABLE IF NOT EXISTS copy_availability (
    barcode         text PRIMARY KEY,
    isbn            text NOT NULL,
    title           text NOT NULL,
    classification  text NOT NULL,
    campus          text NOT NULL,
    price           numeric(10, 2) NOT NULL,
    reference_only  boolean NOT NULL,
    status          text NOT NULL
);
