-- The inventory as camsweep 0.1 created it (one site). Statements end with ';' at the end of a line.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    mode TEXT NOT NULL,
    partial INTEGER NOT NULL,
    targets TEXT NOT NULL,
    device_count INTEGER NOT NULL,
    restricted_count INTEGER NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity TEXT NOT NULL UNIQUE,
    first_scan INTEGER NOT NULL,
    last_scan INTEGER NOT NULL
);
CREATE TABLE sightings (
    scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    ip TEXT, mac TEXT, hostname TEXT,
    manufacturer TEXT NOT NULL, brand TEXT, device_type TEXT NOT NULL,
    model TEXT, firmware TEXT, serial TEXT,
    confidence REAL NOT NULL, restricted INTEGER NOT NULL,
    PRIMARY KEY (scan_id, device_id)
);
