-- +goose Up
-- Same schema as the Postgres migration of the same number. Dates are
-- YYYY-MM-DD text, which sorts and compares as dates; WITHOUT ROWID tables are
-- clustered on their primary key, so reads by account and date are covering.
CREATE TABLE accounts (
    sid             TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    parent_sid      TEXT REFERENCES accounts (sid),
    currency        TEXT NOT NULL,
    auth_token_hash TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX accounts_parent_sid ON accounts (parent_sid);

CREATE TABLE usage_events (
    account_sid  TEXT      NOT NULL,
    event_id     TEXT      NOT NULL,
    category     TEXT      NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    day          TEXT      NOT NULL,
    count        INTEGER   NOT NULL,
    usage_micros INTEGER   NOT NULL,
    price_micros INTEGER   NOT NULL,
    ingested_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (account_sid, event_id)
) WITHOUT ROWID;

CREATE TABLE usage_daily (
    account_sid  TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    usage_micros INTEGER NOT NULL,
    price_micros INTEGER NOT NULL,
    PRIMARY KEY (account_sid, day, category)
) WITHOUT ROWID;

CREATE TABLE usage_monthly (
    account_sid  TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    usage_micros INTEGER NOT NULL,
    price_micros INTEGER NOT NULL,
    PRIMARY KEY (account_sid, month, category)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE usage_monthly;
DROP TABLE usage_daily;
DROP TABLE usage_events;
DROP TABLE accounts;
