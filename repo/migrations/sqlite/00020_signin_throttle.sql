-- +goose Up
-- Same schema as the Postgres migration of the same number.
CREATE TABLE signin_throttle (
    key             TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_us         INTEGER NOT NULL,
    locked_until_us INTEGER NOT NULL,
    lockouts        INTEGER NOT NULL
);
CREATE INDEX signin_throttle_last ON signin_throttle (last_us);

-- +goose Down
DROP TABLE signin_throttle;
