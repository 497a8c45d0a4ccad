-- Sites: every scan names its site, a device's identity is per site, the policy a scan was judged
-- under and each restricted device's deadline are kept for the roll-up, and a digest of the stored
-- result makes submitting the same scan twice store it once.
ALTER TABLE scans ADD COLUMN site TEXT NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN policy TEXT NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN digest TEXT;
CREATE UNIQUE INDEX scans_site_digest ON scans (site, digest);
CREATE INDEX scans_site ON scans (site, id);
-- UNIQUE (identity) becomes UNIQUE (site, identity): SQLite changes a constraint by rebuilding the
-- table (foreign keys are off while migrations run, and checked before they commit).
CREATE TABLE devices_by_site (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    identity TEXT NOT NULL,
    first_scan INTEGER NOT NULL,
    last_scan INTEGER NOT NULL,
    UNIQUE (site, identity)
);
INSERT INTO devices_by_site (id, site, identity, first_scan, last_scan)
    SELECT id, '', identity, first_scan, last_scan FROM devices;
DROP TABLE devices;
ALTER TABLE devices_by_site RENAME TO devices;
CREATE INDEX devices_site_last ON devices (site, last_scan);
ALTER TABLE sightings ADD COLUMN deadline TEXT;
CREATE INDEX sightings_device ON sightings (device_id);
