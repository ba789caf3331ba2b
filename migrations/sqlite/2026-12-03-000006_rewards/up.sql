-- Rewards (issue 5). A reward is issued in the transaction of the change
-- that earns it; `dedupe_key` makes it exactly once: per referral, rule
-- and beneficiary for a stage rule, per participant, rule and tier for a
-- tier rule. A reward over a cap is kept as `capped` (visible, not issued).
CREATE TABLE rewards (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id),
    rule_id TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    -- referrer | referee
    beneficiary TEXT NOT NULL,
    -- The referrer: the beneficiary of a referrer reward, the one whose
    -- referral earned a referee reward.
    participant_id TEXT NOT NULL REFERENCES participants(id),
    referral_id TEXT REFERENCES referrals(id),
    -- For a tier rule: the Nth won referral.
    tier INTEGER,
    -- The menu as it was when issued (JSON array of options).
    menu TEXT NOT NULL,
    -- The most the reward can cost (the largest option amount), for caps.
    value_amount BIGINT NOT NULL,
    -- capped | pending | available | chosen | fulfilled | expired | revoked
    status TEXT NOT NULL,
    -- The current status in plain words, for the participant and the admin.
    reason TEXT NOT NULL,
    available_at TIMESTAMP NOT NULL,
    choose_within_days INTEGER NOT NULL,
    use_within_days INTEGER NOT NULL,
    choose_by TIMESTAMP NOT NULL,
    chosen_option INTEGER,
    chosen_kind TEXT,
    chosen_label TEXT,
    amount BIGINT,
    currency TEXT,
    percent INTEGER,
    coupon_code TEXT,
    chosen_at TIMESTAMP,
    use_by TIMESTAMP,
    fulfilled_at TIMESTAMP,
    fulfilment_reference TEXT,
    -- Set when a refund came after the reward left its hold: money may be
    -- owed back; the admin follows up.
    clawback_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (program_id, dedupe_key)
);
CREATE INDEX rewards_participant ON rewards(participant_id, created_at);
CREATE INDEX rewards_referral ON rewards(referral_id);
CREATE INDEX rewards_due ON rewards(status, available_at);
CREATE INDEX rewards_program ON rewards(program_id, created_at, id);

-- The reward ledger: every step of every reward, with who and why. It is
-- the participant's history in the admin, and holds clawback entries.
CREATE TABLE reward_entries (
    id TEXT PRIMARY KEY,
    reward_id TEXT NOT NULL REFERENCES rewards(id),
    participant_id TEXT NOT NULL REFERENCES participants(id),
    -- issued | capped | available | chosen | fulfilled | expired | revoked | clawback | approved
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    -- An admin's email, `api`, or `system`.
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX reward_entries_reward ON reward_entries(reward_id, at);
CREATE INDEX reward_entries_participant ON reward_entries(participant_id, at);

-- Coupon pools: each code is handed out once. A code is taken by a
-- conditional UPDATE (`reward_id IS NULL`), so two servers never hand out
-- the same code.
CREATE TABLE coupon_codes (
    program_id TEXT NOT NULL REFERENCES programs(id),
    pool TEXT NOT NULL,
    code TEXT NOT NULL,
    reward_id TEXT REFERENCES rewards(id),
    assigned_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (program_id, pool, code)
);
CREATE INDEX coupon_codes_free ON coupon_codes(program_id, pool, reward_id);
