-- +goose Up
-- The account directory (repo/directory.go) keeps accounts in each service's
-- memory. SQLite has no NOTIFY, so these triggers log, in the changing
-- transaction, every account to re-read; each process reads the log past the
-- position it has applied before it trusts its directory. The log keeps the
-- last 10,000 changes; a process further behind reloads everything.
CREATE TABLE directory_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT NOT NULL
);

-- An account's parent is set at creation and never changes.
-- +goose StatementBegin
CREATE TRIGGER accounts_parent_fixed BEFORE UPDATE OF parent_sid ON accounts
WHEN OLD.parent_sid IS NOT NEW.parent_sid
BEGIN
    SELECT RAISE(ABORT, 'the parent of an account cannot change');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER directory_account_added AFTER INSERT ON accounts
BEGIN
    INSERT INTO directory_changes (sid) VALUES (NEW.sid);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER directory_account_changed AFTER UPDATE ON accounts
BEGIN
    INSERT INTO directory_changes (sid) VALUES (NEW.sid);
END;
-- +goose StatementEnd

-- A new daily row with no earlier day moves the first usage day earlier.
-- +goose StatementBegin
CREATE TRIGGER directory_first_usage AFTER INSERT ON usage_daily
WHEN NOT EXISTS (SELECT 1 FROM usage_daily d WHERE d.account_sid = NEW.account_sid AND d.day < NEW.day)
BEGIN
    INSERT INTO directory_changes (sid) VALUES (NEW.account_sid);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER directory_changes_pruned AFTER INSERT ON directory_changes
BEGIN
    DELETE FROM directory_changes WHERE seq <= NEW.seq - 10000;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER directory_changes_pruned;
DROP TRIGGER directory_first_usage;
DROP TRIGGER directory_account_changed;
DROP TRIGGER directory_account_added;
DROP TRIGGER accounts_parent_fixed;
DROP TABLE directory_changes;
