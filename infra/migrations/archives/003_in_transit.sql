-- Copies on their way home from the other campus (catalog's TransitStarted until
-- ArrivedHome or a Transferred), counted per home campus in the general ledger.
ALTER TABLE ledger_copies ADD COLUMN IF NOT EXISTS in_transit boolean NOT NULL DEFAULT false;
