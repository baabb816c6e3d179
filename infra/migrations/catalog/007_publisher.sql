-- The publisher (出版社) of a copy's title, as a MARC record names it (BookAdded's
-- optional `publisher`, docs/marc.md). Kept by the CopyIndex projection; empty for
-- copies catalogued before it was kept, or without a publisher. The MARC export
-- writes it back (MARC 21 264 $b, CNMARC 210 $c).
ALTER TABLE copies ADD COLUMN IF NOT EXISTS publisher text NOT NULL DEFAULT '';
