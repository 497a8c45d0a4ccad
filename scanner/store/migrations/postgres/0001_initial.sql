-- The inventory's first schema, as SQLite's 0001 (one site), in PostgreSQL's types. It lives in the
-- schema "camsweep" (created before the migrations run). Statements end with ';' at the end of a line.
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE scans (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started timestamptz NOT NULL,
    finished timestamptz NOT NULL,
    mode text NOT NULL,
    partial boolean NOT NULL,
    targets text NOT NULL,
    device_count integer NOT NULL,
    restricted_count integer NOT NULL,
    result text NOT NULL
);
CREATE TABLE devices (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identity text NOT NULL CONSTRAINT devices_identity_key UNIQUE,
    first_scan bigint NOT NULL,
    last_scan bigint NOT NULL
);
CREATE TABLE sightings (
    scan_id bigint NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    device_id bigint NOT NULL REFERENCES devices(id),
    ip text, mac text, hostname text,
    manufacturer text NOT NULL, brand text, device_type text NOT NULL,
    model text, firmware text, serial text,
    confidence double precision NOT NULL, restricted boolean NOT NULL,
    PRIMARY KEY (scan_id, device_id)
);
