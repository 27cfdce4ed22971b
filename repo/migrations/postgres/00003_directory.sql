-- +goose Up
-- The account directory (repo/directory.go) keeps accounts in each service's
-- memory and learns of changes from other processes through NOTIFY on channel
-- billing_directory, sent by these triggers in the changing transaction, so
-- that no writer (service, CLI, bulk load, hand-written SQL) can forget to.
-- The payload is an account SID to re-read, or '*': reload everything.

-- An account's parent is set at creation and never changes: the scope check
-- and sub-account reads rely on it.
-- +goose StatementBegin
CREATE FUNCTION accounts_parent_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_sid IS DISTINCT FROM OLD.parent_sid THEN
        RAISE EXCEPTION 'the parent of account % cannot change', OLD.sid USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER accounts_parent_fixed BEFORE UPDATE OF parent_sid ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_parent_fixed();

-- Added accounts: one notification each, or one reload for a bulk load.
-- +goose StatementBegin
CREATE FUNCTION directory_accounts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM added) > 1000 THEN
        PERFORM pg_notify('billing_directory', '*');
    ELSE
        PERFORM pg_notify('billing_directory', sid) FROM added;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER directory_accounts_added AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION directory_accounts_added();

-- A changed account (its auth token rotated, its name): rare, one row each.
-- +goose StatementBegin
CREATE FUNCTION directory_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('billing_directory', NEW.sid);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER directory_account_changed AFTER UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION directory_account_changed();

-- A first usage day that moves earlier: only new daily rows can move it, and
-- only when no earlier day exists (one index probe per account of the
-- statement; most batches add no new earliest day and notify nothing).
-- +goose StatementBegin
CREATE FUNCTION directory_first_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('billing_directory', n.account_sid)
    FROM (SELECT account_sid, min(day) AS day FROM added GROUP BY account_sid) n
    WHERE NOT EXISTS (SELECT 1 FROM usage_daily d WHERE d.account_sid = n.account_sid AND d.day < n.day);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER directory_first_usage AFTER INSERT ON usage_daily
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION directory_first_usage();

-- +goose Down
DROP TRIGGER directory_first_usage ON usage_daily;
DROP TRIGGER directory_account_changed ON accounts;
DROP TRIGGER directory_accounts_added ON accounts;
DROP TRIGGER accounts_parent_fixed ON accounts;
DROP FUNCTION directory_first_usage();
DROP FUNCTION directory_account_changed();
DROP FUNCTION directory_accounts_added();
DROP FUNCTION accounts_parent_fixed();
