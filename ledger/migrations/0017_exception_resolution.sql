-- Who resolved an exception and what they did about it.
ALTER TABLE exceptions ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE exceptions ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
