-- Losses as schools settle them (docs/losses.md): a lost copy is paid at its price
-- in one payment or several, each with a numbered receipt (收据), or replaced with
-- a new copy of its title.
CREATE SEQUENCE IF NOT EXISTS receipt_seq START 1;

-- What has been paid towards a loss so far, and the copy that replaced it (if one did).
ALTER TABLE loans
    ADD COLUMN IF NOT EXISTS paid_amount numeric(10, 2) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS replaced_by text;

-- One row a payment (a CompensationPaid with a receipt number): the receipts.
CREATE TABLE IF NOT EXISTS loss_payments (
    receipt_no         text PRIMARY KEY,
    loan_id            text NOT NULL,
    patron_id          text NOT NULL,
    amount             numeric(10, 2) NOT NULL,
    balance            numeric(10, 2) NOT NULL,
    paid_at            timestamptz NOT NULL,
    taken_by           text,
    taken_by_username  text
);
CREATE INDEX IF NOT EXISTS loss_payments_loan ON loss_payments (loan_id, paid_at);
