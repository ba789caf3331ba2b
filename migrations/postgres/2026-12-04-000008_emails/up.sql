-- Emails (issue 7). An email is a row written in the transaction of the
-- change that causes it; a worker on every server claims due rows with a
-- lease, renders them from what they name and sends them. Rows keep no
-- secret: a sign-in link is derived again when the email is rendered.
CREATE TABLE emails (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    to_name TEXT NOT NULL,
    program_id TEXT,
    participant_id TEXT,
    -- What the email is about: a referral, a reward, a sign-in, an admin user.
    subject_id TEXT,
    -- At most one email per key (a reminder per reward, a digest per day).
    dedupe_key TEXT UNIQUE,
    -- waiting | sent | failed | suppressed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    first_attempt_at TIMESTAMP,
    lease_until TIMESTAMP,
    leased_by TEXT,
    last_error TEXT,
    -- The subject line as sent (for the admin's list).
    subject TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX emails_due ON emails(status, next_attempt_at);
CREATE INDEX emails_created ON emails(created_at);

-- Addresses that asked for no more email of a kind (`all` for every kind
-- that can be turned off).
CREATE TABLE email_suppressions (
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (address, kind)
);

-- Single-use sign-in links: the portal's (by email at /p) and an invited
-- admin's set-password link. The token is derived from the row's id with
-- the secret key, so the email can be rendered when it is sent; only its
-- SHA-256 is stored.
CREATE TABLE sign_in_links (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- portal | admin_invitation
    purpose TEXT NOT NULL,
    -- A participant's id, or an admin user's.
    owner_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);

-- A portal sign-in request names an address, not a program.
CREATE INDEX participants_email ON participants(email_normalized);

-- When the "expires in 7 days" reminder of a reward was queued.
ALTER TABLE rewards ADD COLUMN reminded_at TIMESTAMP;
CREATE INDEX rewards_remind ON rewards(status, choose_by);
