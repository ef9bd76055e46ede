-- 0004: a rare plate prefix ('浙A012*', ~0.05 % of the rows) is read from the prefix btree
-- index-only as well: the matches' times and ids are in the index, so the page is a top-N over
-- the matches without touching the table (the time walk of 0003 serves common prefixes).
DROP INDEX IF EXISTS events_plate_prefix;
CREATE INDEX events_plate_prefix ON events (plate text_pattern_ops) INCLUDE (ts_ms, type, id)
    WHERE plate IS NOT NULL;
