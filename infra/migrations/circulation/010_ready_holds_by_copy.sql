-- A copy's ready hold, by barcode: every lend asks whether the copy at the desk is put
-- aside for another reader (queries.LOCK_COPIES_FOR), and the hold checks ask whether a
-- copy is held already (notifying.py). The holds table keeps every hold ever made
-- (picked up, expired), so without this each lend would scan all of them.
CREATE INDEX IF NOT EXISTS holds_ready_copy ON holds (barcode) WHERE status = 'ready';
