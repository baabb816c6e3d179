-- The classes a reader moved out of at the school year's turns (CardClassChanged):
-- a leaderboard, a term's targets or a week's bulletin counts each student in the
-- class they were in then, so the old term stays as it was after the turn.
CREATE TABLE IF NOT EXISTS class_moves (
    patron_id    text    NOT NULL,
    school_year  integer NOT NULL,
    from_class   text    NOT NULL,
    to_class     text,
    moved_on     date    NOT NULL,  -- the new school year's first day: to_class from it
    PRIMARY KEY (patron_id, school_year)
);
