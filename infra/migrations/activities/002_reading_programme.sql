-- The reading programme's read models. The skeleton's books_read gives way to
-- the leaderboard tables below (rebuilt from circulation's events).
DROP TABLE IF EXISTS books_read;

-- Every library card circulation issued: who reads, in which class and campus.
CREATE TABLE IF NOT EXISTS readers (
    patron_id   text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL,              -- student, teacher, class_corner
    class_name  text,
    campus      text NOT NULL,
    retired     boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS readers_class ON readers (campus, class_name);

-- Every loan circulation made: whose it is (a note is only about one's own
-- loan) and what was borrowed (the weekly bulletin's top titles).
CREATE TABLE IF NOT EXISTS borrowings (
    loan_id      text PRIMARY KEY,
    patron_id    text NOT NULL,
    patron_kind  text NOT NULL,
    class_name   text,
    campus       text NOT NULL,             -- the desk it was lent at
    lent_on      date NOT NULL,
    title        text,
    isbn         text
);
CREATE INDEX IF NOT EXISTS borrowings_lent_on ON borrowings (lent_on);

-- The leaderboard: loans per card per day, and per title per campus per day,
-- so a week, a month or a term is a sum over a few thousand rows.
CREATE TABLE IF NOT EXISTS loans_by_day (
    lent_on      date NOT NULL,
    patron_id    text NOT NULL,
    patron_kind  text NOT NULL,
    class_name   text,
    campus       text NOT NULL,             -- first desk of the day; the reader's card decides
    loans        integer NOT NULL,
    PRIMARY KEY (lent_on, patron_id)
);

CREATE TABLE IF NOT EXISTS titles_by_day (
    lent_on    date NOT NULL,
    campus     text NOT NULL,               -- the desk it was lent at
    title_key  text NOT NULL,               -- the ISBN without hyphens, or the title
    title      text NOT NULL,
    isbn       text,
    loans      integer NOT NULL,
    PRIMARY KEY (lent_on, campus, title_key)
);

-- Reading notes and their awards (kept inline, from activities' own events).
CREATE TABLE IF NOT EXISTS reading_notes (
    note_id       text PRIMARY KEY,
    patron_id     text NOT NULL,
    loan_id       text UNIQUE,
    isbn          text NOT NULL,
    title         text NOT NULL,
    text          text NOT NULL,
    word_count    integer NOT NULL,
    submitted_on  date NOT NULL,
    award         text,
    awarded_by    text,
    awarded_on    date
);
CREATE INDEX IF NOT EXISTS reading_notes_submitted_on ON reading_notes (submitted_on);
CREATE INDEX IF NOT EXISTS reading_notes_patron ON reading_notes (patron_id);

-- Competitions and their entries (kept inline). A closed competition keeps
-- the final ranking its closing event carried.
CREATE TABLE IF NOT EXISTS competitions (
    competition_id  text PRIMARY KEY,
    title           text NOT NULL,
    kind            text NOT NULL,
    campus          text,
    opened_on       date NOT NULL,
    closes_on       date NOT NULL,
    status          text NOT NULL DEFAULT 'open',   -- open, closed
    closed_on       date,
    ranking         jsonb
);

CREATE TABLE IF NOT EXISTS competition_entries (
    entry_id        text PRIMARY KEY,
    competition_id  text NOT NULL,
    entry_order     integer NOT NULL,           -- the entry's place in its competition's stream
    patron_id       text NOT NULL,
    title           text NOT NULL,
    text            text,
    entered_on      date NOT NULL,
    score           integer,
    scored_by       text,
    UNIQUE (competition_id, patron_id)
);
CREATE INDEX IF NOT EXISTS competition_entries_of ON competition_entries (competition_id);
