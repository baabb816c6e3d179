-- Where the library's notices go (overdue lists to class teachers, reserved books
-- ready): an optional e-mail address per account, from AccountCreated/EmailChanged.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS email text;
