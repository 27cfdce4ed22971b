-- +goose Up
-- Same schema as the Postgres migration of the same number.
ALTER TABLE accounts ADD COLUMN auth_token_sealed BLOB;

CREATE TABLE usage_triggers (
    sid                  TEXT PRIMARY KEY,
    account_sid          TEXT    NOT NULL REFERENCES accounts (sid),
    api_version          TEXT    NOT NULL,
    friendly_name        TEXT    NOT NULL,
    callback_url         TEXT    NOT NULL,
    callback_method      TEXT    NOT NULL,
    usage_category       TEXT    NOT NULL,
    recurring            TEXT    NOT NULL,
    trigger_by           TEXT    NOT NULL,
    trigger_value_micros INTEGER NOT NULL CHECK (trigger_value_micros > 0),
    current_value_micros INTEGER NOT NULL DEFAULT 0,
    created_us           INTEGER NOT NULL,
    updated_us           INTEGER NOT NULL,
    fired_us             INTEGER
);
CREATE INDEX usage_triggers_account ON usage_triggers (account_sid, sid);

CREATE TABLE trigger_firings (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger_sid          TEXT    NOT NULL REFERENCES usage_triggers (sid) ON DELETE CASCADE,
    period               TEXT    NOT NULL,
    fired_us             INTEGER NOT NULL,
    current_value_micros INTEGER NOT NULL,
    usage_record_uri     TEXT    NOT NULL,
    idempotency_token    TEXT    NOT NULL,
    UNIQUE (trigger_sid, period)
);

CREATE TABLE trigger_outbox (
    firing_id        INTEGER PRIMARY KEY REFERENCES trigger_firings (id) ON DELETE CASCADE,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_us       INTEGER NOT NULL,
    next_attempt_us  INTEGER NOT NULL,
    claimed_until_us INTEGER NOT NULL DEFAULT 0,
    claim_token      TEXT    NOT NULL DEFAULT '',
    last_error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX trigger_outbox_due ON trigger_outbox (next_attempt_us) WHERE status = 'pending';

-- +goose Down
DROP TABLE trigger_outbox;
DROP TABLE trigger_firings;
DROP TABLE usage_triggers;
ALTER TABLE accounts DROP COLUMN auth_token_sealed;
