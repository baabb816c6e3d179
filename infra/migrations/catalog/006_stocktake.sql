-- Stock-takes (清点): each one, what it counted and what it found missing. Kept by the
-- catalog's inline Stocktakes projection (services/catalog/projections.py) from the
-- StocktakeOpened, CopyCounted and StocktakeClosed events, so a report is current the
-- moment a scan or the closing returns; rebuildable from those events alone.
CREATE SEQUENCE IF NOT EXISTS stocktake_seq START 1;

CREATE TABLE IF NOT EXISTS stocktakes (
    stocktake_id     text PRIMARY KEY,
    campus           text NOT NULL,
    classes          text[] NOT NULL,          -- classification prefixes; {} = whole campus
    status           text NOT NULL,            -- open, closed
    opened_on        date NOT NULL,
    opened_by        text,                     -- the librarian's username, when known
    closed_on        date,
    closed_position  bigint,                   -- the closing event's position: their order
    expected         integer,                  -- the report's figures, once closed
    counted          integer NOT NULL DEFAULT 0,
    missing          integer,
    misplaced        integer NOT NULL DEFAULT 0,
    found_on_loan    integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS stocktakes_campus ON stocktakes (campus, closed_position);

-- One row per copy a stock-take covered: counted (found, with where it was misplaced and
-- the loan it was on) or, once closed, missing. A copy missing in the last two closed
-- stock-takes that have a row for it may be weeded as lost.
CREATE TABLE IF NOT EXISTS stocktake_copies (
    stocktake_id  text NOT NULL,
    barcode       text NOT NULL,
    outcome       text NOT NULL,               -- found, missing
    misplaced     text,                        -- other_campus, out_of_range
    loan_id       text,                        -- the loan it was found on
    status        text,                        -- what the books said when it was counted
    counted_at    timestamptz,
    PRIMARY KEY (stocktake_id, barcode)
);
CREATE INDEX IF NOT EXISTS stocktake_copies_barcode ON stocktake_copies (barcode);
