-- Conversion events (POST /api/v1/events): the idempotency record of each
-- client event id and the referral's timeline. The event id is unique per
-- program; `body_hash` tells a retry (same body) from a reuse (another).
CREATE TABLE conversion_events (
    program_id TEXT NOT NULL REFERENCES programs(id),
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    referral_id TEXT REFERENCES referrals(id),
    attributed BOOLEAN NOT NULL,
    stage TEXT,
    outcome TEXT NOT NULL,
    amount BIGINT,
    currency TEXT,
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (program_id, event_id)
);
CREATE INDEX conversion_events_referral ON conversion_events(referral_id, received_at);
