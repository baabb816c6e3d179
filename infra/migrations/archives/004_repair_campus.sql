-- A repair is filed under the campus where the copy was damaged (the CopyDamaged
-- event's campus), not the campus the copy is at now. Lines registered before
-- this migration have none until `library rebuild archives catalog_registers`;
-- the register shows the copy's campus for them meanwhile.
ALTER TABLE register_repairs ADD COLUMN IF NOT EXISTS campus text;
