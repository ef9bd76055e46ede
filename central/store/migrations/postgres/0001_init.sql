-- edgepost central archive, PostgreSQL. Applied once, in order, by central.store.migrate.
-- pg_trgm serves plate searches with wildcards anywhere ('*123*'); it ships with Debian's
-- postgresql package (contrib).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Partitioned by event time, one partition per UTC day (created on demand by the store;
-- retention drops whole partitions). The primary key must include the partition key: a
-- duplicate of an event is byte-identical, so (id, ts_ms) de-duplicates exactly.
CREATE TABLE events (
    id              bytea   NOT NULL,
    ts_ms           bigint  NOT NULL,
    device          text    NOT NULL,
    seq             bigint  NOT NULL,
    type            text    NOT NULL,
    rx_ms           bigint  NOT NULL,
    lat             double precision,
    lon             double precision,
    plate           text,
    plate_hash      bytea,
    direction       text,
    vehicle_class   text,
    zone            text,
    camera          text,
    watch_match     boolean,
    alarm           text,
    clock_untrusted boolean NOT NULL DEFAULT false,
    body            jsonb   NOT NULL,
    crop            bytea,
    PRIMARY KEY (id, ts_ms)
) PARTITION BY RANGE (ts_ms);

-- Plate search (exact) and a plate's trajectory in time order.
CREATE INDEX events_plate_ts ON events (plate, ts_ms) WHERE plate IS NOT NULL;
-- Wildcard plate search ('京A*', '*123*').
CREATE INDEX events_plate_trgm ON events USING gin (plate gin_trgm_ops) WHERE plate IS NOT NULL;
-- Privacy mode: search by keyed hash.
CREATE INDEX events_plate_hash_ts ON events (plate_hash, ts_ms) WHERE plate_hash IS NOT NULL;
-- Loss accounting walks each device's sequence numbers.
CREATE INDEX events_device_seq ON events (device, seq);
-- Counts per checkpoint and hour.
CREATE INDEX events_type_device_ts ON events (type, device, ts_ms);

CREATE TABLE alarms (
    event_id        bytea   PRIMARY KEY,
    ts_ms           bigint  NOT NULL,
    rx_ms           bigint  NOT NULL,
    timer_ms        bigint  NOT NULL,  -- the one-minute timer starts here
    device          text    NOT NULL,
    type            text    NOT NULL,
    category        text    NOT NULL,
    summary         text    NOT NULL,
    clock_untrusted boolean NOT NULL DEFAULT false,
    acked_ms        bigint,
    acked_by        text,
    assigned_to     text,
    escalated_ms    bigint
);
CREATE INDEX alarms_open ON alarms (timer_ms) WHERE acked_ms IS NULL;
CREATE INDEX alarms_ts ON alarms (ts_ms);

CREATE TABLE quarantine (
    qid     bigserial PRIMARY KEY,
    rx_ms   bigint NOT NULL,
    topic   text   NOT NULL,
    device  text,
    reason  text   NOT NULL,
    detail  text   NOT NULL,
    size    integer NOT NULL,
    head    bytea  NOT NULL
);
CREATE INDEX quarantine_reason ON quarantine (reason, rx_ms);

CREATE TABLE devices (
    device        text PRIMARY KEY,
    online        boolean,
    state         jsonb,
    state_rx_ms   bigint,
    health        jsonb,
    health_rx_ms  bigint,
    last_event_ms bigint,
    lat           double precision,
    lon           double precision
);

CREATE TABLE users (
    name       text PRIMARY KEY,
    hash       text NOT NULL,
    role       text NOT NULL,
    created_ms bigint NOT NULL
);

CREATE TABLE audit (
    aid     bigserial PRIMARY KEY,
    ts_ms   bigint NOT NULL,
    actor   text   NOT NULL,
    action  text   NOT NULL,
    detail  text   NOT NULL
);
