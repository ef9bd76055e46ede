-- 0002: grid cells, nodes, command replies (same tables as PostgreSQL; no pattern indexes:
-- SQLite's LIKE is case-insensitive and can't use a btree here; the demo archive is small).
ALTER TABLE events ADD COLUMN cell TEXT;
CREATE INDEX events_cell_ts ON events (cell, ts_ms) WHERE cell IS NOT NULL;

CREATE TABLE nodes (
    device        TEXT    NOT NULL,
    node          TEXT    NOT NULL,
    last_event_ms INTEGER NOT NULL,
    last_type     TEXT    NOT NULL,
    status        TEXT,
    status_ms     INTEGER,
    PRIMARY KEY (device, node)
);

CREATE TABLE commands (
    cid      TEXT    PRIMARY KEY,
    ts_ms    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    device   TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    args     TEXT    NOT NULL
);
CREATE INDEX commands_ts ON commands (ts_ms);
CREATE TABLE replies (
    rid     INTEGER PRIMARY KEY AUTOINCREMENT,
    cid     TEXT,
    device  TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    rx_ms   INTEGER NOT NULL,
    doc     TEXT    NOT NULL
);
CREATE UNIQUE INDEX replies_cid ON replies (cid) WHERE cid IS NOT NULL;
CREATE INDEX replies_rx ON replies (rx_ms);
