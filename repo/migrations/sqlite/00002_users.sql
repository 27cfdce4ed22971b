-- +goose Up
-- Same schema as the Postgres migration of the same number.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE CHECK (name <> '' AND name = lower(name)),
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE user_accounts (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_sid TEXT    NOT NULL REFERENCES accounts (sid),
    PRIMARY KEY (user_id, account_sid)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE user_accounts;
DROP TABLE users;
