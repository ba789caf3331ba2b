-- Outbound webhooks (Standard Webhooks). An endpoint's signing secret is
-- not stored: it is derived from the instance secret key and `secret_salt`,
-- so a copy of the database alone cannot forge deliveries.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Space-separated event types; empty means every type.
    event_types TEXT NOT NULL,
    secret_salt TEXT NOT NULL,
    -- After a rotation, deliveries carry a signature with the previous
    -- secret too, until this time, so receivers can switch without a gap.
    previous_secret_salt TEXT,
    previous_secret_until TIMESTAMP,
    enabled BOOLEAN NOT NULL,
    -- Why goodword disabled it (a 410 from the receiver), for the admin.
    disabled_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The outbox: one row per message and endpoint, written in the transaction
-- that made the change. `payload` is the exact body, so every attempt sends
-- the same bytes under the same `message_id` (the webhook-id header).
-- A worker claims a due row by setting `lease_until` with a conditional
-- UPDATE; another server skips it until the lease ends.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- pending, delivered or failed (gave up).
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    -- Attempts allowed before giving up; a manual redelivery adds one.
    max_attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    leased_by TEXT,
    last_attempt_at TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at);

-- Every attempt, for the admin's delivery page.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    status_code INTEGER,
    error TEXT,
    -- The start of the receiver's answer, as text.
    response_excerpt TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
