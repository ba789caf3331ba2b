-- Clicks arrive through a local journal and load in batches. The click
-- table keeps one index, its time-ordered primary key, so that a batch
-- appends instead of touching a random index page per click; what the
-- pages ask of clicks by link or program reads the per-day counts, and
-- the duplicate check reads the visits of the last hour.
DROP INDEX clicks_link_at;
DROP INDEX clicks_program_at;

CREATE TABLE click_daily (
    link_id TEXT NOT NULL REFERENCES links(id),
    day DATE NOT NULL,
    channel TEXT NOT NULL,
    program_id TEXT NOT NULL,
    clicks BIGINT NOT NULL,
    counted BIGINT NOT NULL,
    PRIMARY KEY (link_id, day, channel)
);
CREATE INDEX click_daily_program_day ON click_daily(program_id, day);

INSERT INTO click_daily (link_id, day, channel, program_id, clicks, counted)
SELECT link_id, CAST(at AS DATE), COALESCE(channel, ''), program_id, COUNT(*),
       COUNT(*) FILTER (WHERE NOT is_bot AND NOT is_duplicate)
FROM clicks
GROUP BY link_id, CAST(at AS DATE), COALESCE(channel, ''), program_id;

-- The last counted open per (link, IP hash, user agent), keyed by a hash
-- of the three; rows older than the duplicate window are deleted.
CREATE TABLE click_visits (
    visit_key TEXT PRIMARY KEY NOT NULL,
    last_counted_at TIMESTAMP NOT NULL
);

-- How far each server's click journal has been loaded, written in the
-- transaction that loads a batch: a batch loads exactly once.
CREATE TABLE click_journal_positions (
    journal_id TEXT PRIMARY KEY NOT NULL,
    segment BIGINT NOT NULL,
    byte_offset BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
