-- 0002: grid cells, nodes, command replies, and plate searches by prefix and suffix.

-- The grid cell (from the district's GeoJSON) an event's position falls in.
ALTER TABLE events ADD COLUMN cell text;
CREATE INDEX events_cell_ts ON events (cell, ts_ms) WHERE cell IS NOT NULL;

-- Prefix wildcards ('浙A12*'): a btree in byte order serves LIKE 'x%' in any collation.
CREATE INDEX events_plate_prefix ON events (plate text_pattern_ops) WHERE plate IS NOT NULL;
-- Suffix wildcards ('*1234'): the reversed plate turns them into prefix searches.
ALTER TABLE events ADD COLUMN plate_rev text GENERATED ALWAYS AS (reverse(plate)) STORED;
CREATE INDEX events_plate_rev ON events (plate_rev text_pattern_ops) WHERE plate IS NOT NULL;
-- Newest-first scans: a common prefix (1 % of all rows) is answered by walking time backwards
-- until the page is full, instead of sorting every match.
CREATE INDEX events_ts ON events (ts_ms);

-- Sensor nodes behind each gateway, from events that name a node and node_status (schema v2).
CREATE TABLE nodes (
    device        text   NOT NULL,
    node          text   NOT NULL,
    last_event_ms bigint NOT NULL,
    last_type     text   NOT NULL,
    status        jsonb,
    status_ms     bigint,
    PRIMARY KEY (device, node)
);

-- Commands sent from the UI and the gateways' replies (matched by MQTT correlation data).
CREATE TABLE commands (
    cid      text   PRIMARY KEY,
    ts_ms    bigint NOT NULL,
    actor    text   NOT NULL,
    device   text   NOT NULL,
    name     text   NOT NULL,
    args     jsonb  NOT NULL
);
CREATE INDEX commands_ts ON commands (ts_ms);
CREATE TABLE replies (
    rid     bigserial PRIMARY KEY,
    cid     text,
    device  text   NOT NULL,
    name    text   NOT NULL,
    rx_ms   bigint NOT NULL,
    doc     jsonb  NOT NULL
);
CREATE UNIQUE INDEX replies_cid ON replies (cid) WHERE cid IS NOT NULL;
CREATE INDEX replies_rx ON replies (rx_ms);
