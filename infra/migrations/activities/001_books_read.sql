CREATE TABLE IF NOT EXISTS books_read (
    patron_id  text PRIMARY KEY,
    loans      integer NOT NULL
);
