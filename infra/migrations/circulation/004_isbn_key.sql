-- A title's copies by ISBN however it was written (hyphens, spaces, a lowercase x):
-- the availability of the titles a search found, at north and south, in one statement
-- (services/circulation/queries.py TITLE_COPIES). The same key as the catalog's
-- isbn_key (shared/events/fields.py normalise_isbn).
CREATE INDEX IF NOT EXISTS copy_availability_isbn_key
    ON copy_availability ((upper(regexp_replace(isbn, '[\s-]', '', 'g'))));
