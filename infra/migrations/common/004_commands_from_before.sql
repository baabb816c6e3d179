-- Commands run before the commands table existed left only their events, whose
-- causation_id is the command's id. Each such id is kept here without its answer
-- (name 'before_receipts_were_kept'), so a resend after the upgrade is refused
-- (command_id_reused) instead of being carried out a second time. A new
-- database has no events yet and gets no rows.
INSERT INTO commands (command_id, name, fingerprint, receipt)
SELECT DISTINCT causation_id, 'before_receipts_were_kept', '', 'null'::jsonb
FROM events
WHERE causation_id IS NOT NULL
ON CONFLICT (command_id) DO NOTHING;
