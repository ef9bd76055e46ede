-- edgepost central archive, SQLite (the embedded default: one laptop, one writer at a time).
-- Same columns as the PostgreSQL schema; no partitions (retention deletes rows by age).
CREATE TABLE events (
    id              BLOB    NOT NULL,
    ts_ms           INTEGER NOT NULL,
    device          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    type            TEXT    NOT NULL,
    rx_ms           INTEGER NOT NULL,
    lat             REAL,
    lon             REAL,
    plate           TEXT,
    plate_hash      BLOB,
    direction       TEXT,
    vehicle_class   TEXT,
    zone            TEXT,
    camera          TEXT,
    watch_match     INTEGER,
    alarm           TEXT,
    clock_untrusted INTEGER NOT NULL DEFAULT 0,
    body            TEXT    NOT NULL,
    crop            BLOB,
    PRIMARY KEY (id, ts_ms)
);
CREATE INDEX events_plate_ts ON events (plate, ts_ms) WHERE plate IS NOT NULL;
CREATE INDEX events_plate_hash_ts ON events (plate_hash, ts_ms) WHERE plate_hash IS NOT NULL;
CREATE INDEX events_device_seq ON events (device, seq);
CREATE INDEX events_type_device_ts ON events (type, device, ts_ms);
CREATE INDEX events_ts ON events (ts_ms);

CREATE TABLE alarms (
    event_id        BLOB    PRIMARY KEY,
    ts_ms           INTEGER NOT NULL,
    rx_ms           INTEGER NOT NULL,
    timer_ms        INTEGER NOT NULL,
    device          TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    clock_untrusted INTEGER NOT NULL DEFAULT 0,
    acked_ms        INTEGER,
    acked_by        TEXT,
    assigned_to     TEXT,
    escalated_ms    INTEGER
);
CREATE INDEX alarms_open ON alarms (timer_ms) WHERE acked_ms IS NULL;
CREATE INDEX alarms_ts ON alarms (ts_ms);

CREATE TABLE quarantine (
    qid     INTEGER PRIMARY KEY AUTOINCREMENT,
    rx_ms   INTEGER NOT NULL,
    topic   TEXT    NOT NULL,
    device  TEXT,
    reason  TEXT    NOT NULL,
    detail  TEXT    NOT NULL,
    size    INTEGER NOT NULL,
    head    BLOB    NOT NULL
);
CREATE INDEX quarantine_reason ON quarantine (reason, rx_ms);

CREATE TABLE devices (
    device        TEXT PRIMARY KEY,
    online        INTEGER,
    state         TEXT,
    state_rx_ms   INTEGER,
    health        TEXT,
    health_rx_ms  INTEGER,
    last_event_ms INTEGER,
    lat           REAL,
    lon           REAL
);

CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE audit (
    aid     INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms   INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
