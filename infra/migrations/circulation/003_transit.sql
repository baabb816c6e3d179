-- Catalog's TransitStarted / ArrivedHome: a copy returned at the other campus is
-- on its way home (transit_from = where it is now) and is not lent until it arrives.
ALTER TABLE copy_availability ADD COLUMN IF NOT EXISTS transit_from text;
