-- +goose Up
-- Sign-in failure counts and lockouts, shared by every service instance.
-- key is a SHA-256 of "name:"/"addr:" and the value, never the typed name
-- (people type passwords into the name field). Times are Unix microseconds.
CREATE TABLE signin_throttle (
    key             TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL, -- within the window, attempts still running included
    last_us         BIGINT  NOT NULL, -- the last attempt
    locked_until_us BIGINT  NOT NULL,
    lockouts        INTEGER NOT NULL  -- so far, for the doubling
);
CREATE INDEX signin_throttle_last ON signin_throttle (last_us);

-- +goose Down
DROP TABLE signin_throttle;
