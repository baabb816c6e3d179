-- A book read is a title borrowed and brought back, never a lost one, counted
-- once per title in the period of its return (services/activities/domain.py:
-- books_read); so each loan keeps how it ended. Loans recorded before this
-- migration have neither until `library rebuild activities borrowings`.
ALTER TABLE borrowings ADD COLUMN IF NOT EXISTS returned_on date;
ALTER TABLE borrowings ADD COLUMN IF NOT EXISTS lost boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS borrowings_returned_on ON borrowings (returned_on)
WHERE returned_on IS NOT NULL;
