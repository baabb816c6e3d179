-- The year's turn: a graduate's card keeps its class (G9-3) and is marked with the
-- school year it graduated in, so its clearance never mixes in the students who
-- moved up into G9-3 the same day.
ALTER TABLE patrons ADD COLUMN IF NOT EXISTS graduated integer;
CREATE INDEX IF NOT EXISTS patrons_graduated ON patrons (graduated) WHERE graduated IS NOT NULL;
