-- Sites (as SQLite's 0002): every scan names its site, a device's identity is per site, the policy a
-- scan was judged under and each restricted device's deadline are kept for the roll-up, and a digest
-- of the stored result makes submitting the same scan twice store it once.
ALTER TABLE scans ADD COLUMN site text NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN policy text NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN digest text;
CREATE UNIQUE INDEX scans_site_digest ON scans (site, digest);
CREATE INDEX scans_site ON scans (site, id);
ALTER TABLE devices ADD COLUMN site text NOT NULL DEFAULT '';
ALTER TABLE devices DROP CONSTRAINT devices_identity_key;
ALTER TABLE devices ADD CONSTRAINT devices_site_identity UNIQUE (site, identity);
CREATE INDEX devices_site_last ON devices (site, last_scan);
ALTER TABLE sightings ADD COLUMN deadline date;
CREATE INDEX sightings_device ON sightings (device_id);
