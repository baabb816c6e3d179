-- Which copies are out on loan, as far as circulation's events tell: a copy on
-- loan may not be transferred or weeded (unless lost), and search shows it as
-- on_loan. Kept by the CopiesOnLoan projection (services/catalog/projections.py).
CREATE TABLE IF NOT EXISTS copies_on_loan (
    barcode    text PRIMARY KEY,
    loan_id    text NOT NULL,
    patron_id  text NOT NULL,
    lent_on    date NOT NULL,
    due_on     date NOT NULL
);
