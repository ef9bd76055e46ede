-- 0003: wildcard plate searches read only an index.
-- A common prefix ('浙A12*' matches ~1 % of all rows) is answered by walking time backwards
-- until the page is full. With plate, type and id in the index that walk is index-only
-- (insert-only partitions are all-visible once autovacuum has passed), and only the page's
-- rows are fetched from the table (the store selects ids first, then the rows).
DROP INDEX IF EXISTS events_ts;
CREATE INDEX events_ts_plate ON events (ts_ms) INCLUDE (plate, type, id) WHERE plate IS NOT NULL;
