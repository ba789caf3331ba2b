DROP TABLE click_journal_positions;
DROP TABLE click_visits;
DROP TABLE click_daily;
CREATE INDEX clicks_link_at ON clicks(link_id, at);
CREATE INDEX clicks_program_at ON clicks(program_id, at);
