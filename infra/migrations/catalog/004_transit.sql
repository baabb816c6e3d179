-- A copy returned at the other campus's desk is in transit home until its home
-- desk receives it (TransitStarted .. ArrivedHome): where it is now and since when.
-- Kept by the CopyIndex projection; no earlier event starts a transit.
ALTER TABLE copies
    ADD COLUMN IF NOT EXISTS transit_from  text,
    ADD COLUMN IF NOT EXISTS transit_since date;
