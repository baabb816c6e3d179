-- Top titles are counted from the loans themselves, so the leaderboard keeps
-- one row per reader per day and a rebuild writes half as many rows.
DROP TABLE IF EXISTS titles_by_day;

-- What makes two loans the same title: the ISBN without hyphens or spaces,
-- else the title (as services/activities/projections.py:title_key).
ALTER TABLE borrowings ADD COLUMN IF NOT EXISTS title_key text;
UPDATE borrowings SET title_key = coalesce(upper(replace(replace(isbn, '-', ''), ' ', '')), title)
WHERE title_key IS NULL;
