-- The audit trail: who ran each scan (operator), what it looked at (the interface listened on, a
-- capture's file, the networks an active scan covered), so that history and diff need not read
-- every stored result. Scans stored before have them empty: history falls back to their targets.
ALTER TABLE scans ADD COLUMN operator text NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN interface text NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN capture text NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN scope text NOT NULL DEFAULT '[]';
