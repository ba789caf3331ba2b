-- Programs, participants, links, clicks, referrals and the daily IP salts.
CREATE TABLE programs (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    external_id TEXT,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name TEXT NOT NULL,
    timezone TEXT,
    portal_nonce TEXT NOT NULL,
    portal_token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX participants_program_external_id ON participants(program_id, external_id);
CREATE UNIQUE INDEX participants_program_email ON participants(program_id, email_normalized);
CREATE INDEX participants_program_created ON participants(program_id, created_at);

CREATE TABLE links (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    participant_id TEXT NOT NULL REFERENCES participants(id),
    code TEXT NOT NULL UNIQUE,
    is_vanity BOOLEAN NOT NULL,
    disabled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX links_participant ON links(participant_id);

CREATE TABLE clicks (
    id TEXT PRIMARY KEY,
    link_id TEXT NOT NULL REFERENCES links(id),
    program_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    channel TEXT,
    user_agent TEXT NOT NULL,
    referrer_host TEXT,
    ip_hash TEXT NOT NULL,
    is_bot BOOLEAN NOT NULL,
    is_duplicate BOOLEAN NOT NULL
);
CREATE INDEX clicks_link_at ON clicks(link_id, at);
CREATE INDEX clicks_program_at ON clicks(program_id, at);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    participant_id TEXT NOT NULL REFERENCES participants(id),
    link_id TEXT REFERENCES links(id),
    click_id TEXT,
    code TEXT NOT NULL,
    referee_email TEXT,
    referee_email_normalized TEXT,
    referee_name TEXT NOT NULL,
    referee_external_id TEXT,
    stage TEXT NOT NULL,
    lead_at TIMESTAMP,
    qualified_at TIMESTAMP,
    opportunity_at TIMESTAMP,
    won_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX referrals_program_referee_email ON referrals(program_id, referee_email_normalized);
CREATE UNIQUE INDEX referrals_program_referee_external_id ON referrals(program_id, referee_external_id);
CREATE INDEX referrals_participant ON referrals(participant_id, created_at);
CREATE INDEX referrals_program_created ON referrals(program_id, created_at);

CREATE TABLE ip_salts (
    day TEXT PRIMARY KEY,
    salt TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
