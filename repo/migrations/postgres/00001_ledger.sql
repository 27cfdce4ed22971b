-- +goose Up
-- Accounts nest to any depth; a parent is set at creation and never changes.
CREATE TABLE accounts (
    sid             text PRIMARY KEY CHECK (sid ~ '^AC[0-9a-f]{32}$'),
    name            text NOT NULL,
    parent_sid      text REFERENCES accounts (sid),
    currency        text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    auth_token_hash text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX accounts_parent_sid ON accounts (parent_sid);

-- The ledger: every accepted event, once. The primary key is the idempotency
-- key. Accounts are never deleted and ingestion checks them in the same
-- transaction, so the high-volume tables skip foreign keys (a trigger per row).
CREATE TABLE usage_events (
    account_sid  text        NOT NULL,
    event_id     text        NOT NULL,
    category     text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    day          date        NOT NULL, -- UTC day of occurred_at: what rollups are keyed on
    count        bigint      NOT NULL,
    usage_micros bigint      NOT NULL,
    price_micros bigint      NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_sid, event_id)
);

-- Rollups, kept exact in the ingestion transaction. Reads never scan events.
-- The covering keys let every read be an index-only scan by account and date.
CREATE TABLE usage_daily (
    account_sid  text   NOT NULL,
    day          date   NOT NULL,
    category     text   NOT NULL,
    count        bigint NOT NULL,
    usage_micros bigint NOT NULL,
    price_micros bigint NOT NULL,
    PRIMARY KEY (account_sid, day, category) INCLUDE (count, usage_micros, price_micros)
);

-- Whole calendar months (month = its first day), so that long ranges sum
-- hundreds of rows instead of thousands.
CREATE TABLE usage_monthly (
    account_sid  text   NOT NULL,
    month        date   NOT NULL,
    category     text   NOT NULL,
    count        bigint NOT NULL,
    usage_micros bigint NOT NULL,
    price_micros bigint NOT NULL,
    PRIMARY KEY (account_sid, month, category) INCLUDE (count, usage_micros, price_micros)
);

-- +goose Down
DROP TABLE usage_monthly;
DROP TABLE usage_daily;
DROP TABLE usage_events;
DROP TABLE accounts;
