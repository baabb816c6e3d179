-- A reader's loans brought back this term, newest first (the reader's panel, and the
-- books a student may write a reading note about): services/circulation/queries.py
-- RETURNED_LOANS.
CREATE INDEX IF NOT EXISTS loans_returned_by_patron
    ON loans (patron_id, returned_on DESC) WHERE status = 'returned';
