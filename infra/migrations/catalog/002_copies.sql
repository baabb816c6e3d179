-- The catalogue as librarians search it: one row per copy, kept by the catalog's
-- inline projection (services/catalog/projections.py, CopyIndex) in the same
-- transaction as the events, and rebuildable from those events alone.
CREATE TABLE IF NOT EXISTS copies (
    barcode         text PRIMARY KEY,
    isbn            text NOT NULL,            -- as catalogued, e.g. 978-7-02-000220-7
    isbn_key        text NOT NULL,            -- normalised (no hyphens or spaces) for lookups
    title           text NOT NULL,
    author          text NOT NULL,
    classification  text NOT NULL,            -- Chinese Library Classification, e.g. I247.5
    campus          text NOT NULL,
    shelf           text NOT NULL,
    price           numeric(10, 2) NOT NULL,
    acquisition     text NOT NULL,
    reference_only  boolean NOT NULL,
    status          text NOT NULL,            -- on_shelf, damaged, weeded
    weed_reason     text
);

-- Exact ISBN; classification by prefix (I2 finds I247.5) with LIKE 'I2%', which a
-- text_pattern_ops btree serves whatever the database's collation. Title and
-- author are matched by substring over at most some tens of thousands of rows.
CREATE INDEX IF NOT EXISTS copies_isbn_key ON copies (isbn_key);
CREATE INDEX IF NOT EXISTS copies_classification ON copies (classification text_pattern_ops);
CREATE INDEX IF NOT EXISTS copies_campus_status ON copies (campus, status);

-- Until now the catalog recorded only BookAdded, so an existing log is indexed
-- completely by its BookAdded events; the checkpoint says the index is current.
INSERT INTO copies (barcode, isbn, isbn_key, title, author, classification, campus, shelf,
                    price, acquisition, reference_only, status)
SELECT data->>'barcode', data->>'isbn', upper(regexp_replace(data->>'isbn', '[\s-]', '', 'g')),
       data->>'title', data->>'author', data->>'classification', data->>'campus',
       data->>'shelf', (data->>'price')::numeric, data->>'acquisition',
       (data->>'reference_only')::boolean, 'on_shelf'
FROM events WHERE type = 'BookAdded'
ON CONFLICT (barcode) DO NOTHING;

INSERT INTO projection_checkpoints (projection, source, position)
SELECT 'copy_index', 'catalog', coalesce(max(position), 0) FROM events
ON CONFLICT (projection, source) DO NOTHING;
