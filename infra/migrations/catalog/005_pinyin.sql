-- Search by pinyin as Chinese readers type it: hongloumeng, hong lou meng or hlm finds
-- 红楼梦, caoxueqin or cxq its author. Kept by the CopyIndex projection
-- (services/catalog/projections.py, keys from services/catalog/pinyin.py: lowercase, no
-- tones, no spaces). Copies catalogued before this migration have none yet (NULL): the
-- catalog service fills them when it starts (CatalogService.fill_pinyin, a few hundred
-- rows a statement), and `library rebuild catalog copy_index` computes them all again.
-- Matched by substring (LIKE '%hlm%') over at most some tens of thousands of rows, as
-- title and author are.
ALTER TABLE copies
    ADD COLUMN IF NOT EXISTS title_pinyin    text,
    ADD COLUMN IF NOT EXISTS title_initials  text,
    ADD COLUMN IF NOT EXISTS author_pinyin   text,
    ADD COLUMN IF NOT EXISTS author_initials text;

-- The rows still without keys, found at once however large the catalogue.
CREATE INDEX IF NOT EXISTS copies_without_pinyin ON copies (barcode) WHERE title_pinyin IS NULL;
