-- Fraud and gaming checks (issue 6). A referral keeps where its review
-- stands and the words the participant reads; each check that fired keeps
-- its evidence (never a raw IP); each reviewer's decision is kept with its
-- reason code and note.
ALTER TABLE referrals ADD COLUMN review TEXT NOT NULL DEFAULT 'clear';
-- What the participant reads about a held or rejected referral.
ALTER TABLE referrals ADD COLUMN review_reason TEXT;
-- The referee's IP hash under the day's salt (its day is in the hash).
ALTER TABLE referrals ADD COLUMN referee_ip_hash TEXT;
CREATE INDEX referrals_review ON referrals(review, created_at);
CREATE INDEX referrals_program_ip ON referrals(program_id, referee_ip_hash);

-- A reward held for review (pending until a reviewer decides), or revoked
-- by a rejection (restored if the referral is reinstated).
ALTER TABLE rewards ADD COLUMN review_hold BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE fraud_findings (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    check_name TEXT NOT NULL,
    action TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX fraud_findings_referral ON fraud_findings(referral_id);

CREATE TABLE fraud_decisions (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    -- approved | rejected | reinstated
    decision TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    note TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX fraud_decisions_referral ON fraud_decisions(referral_id, at);

-- The admin's lists: disposable_allow, disposable_add, block_email,
-- block_domain, block_ip (an address or a CIDR).
CREATE TABLE fraud_lists (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, value)
);

-- The device cookie of a participant's own browser (SHA-256 of it).
CREATE TABLE participant_devices (
    participant_id TEXT NOT NULL REFERENCES participants(id),
    device_hash TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (participant_id, device_hash)
);

-- A participant's own visits (portal, ask pages): the IP hash of the day
-- and a hash of the user agent, kept while the day's salt is.
CREATE TABLE participant_visits (
    participant_id TEXT NOT NULL REFERENCES participants(id),
    day TEXT NOT NULL,
    ip_hash TEXT NOT NULL,
    user_agent_hash TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (participant_id, day, ip_hash, user_agent_hash)
);

-- Velocity counters, kept as referrals are created so that a check reads
-- a few rows instead of counting a participant's referrals: per
-- participant by minute (the hour window) and by hour (the day window),
-- per program and IP hash (the hash holds its day).
CREATE TABLE velocity_counts (
    key TEXT NOT NULL,
    bucket TIMESTAMP NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, bucket)
);
