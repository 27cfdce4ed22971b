-- +goose Up
-- Same schema as the Postgres migration of the same number.
CREATE TABLE usage_yearly (
    account_sid  TEXT    NOT NULL,
    year         TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    usage_micros INTEGER NOT NULL,
    price_micros INTEGER NOT NULL,
    PRIMARY KEY (year, category, account_sid)
) WITHOUT ROWID;
CREATE TABLE usage_monthly_total (
    account_sid  TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    usage_micros INTEGER NOT NULL,
    price_micros INTEGER NOT NULL,
    PRIMARY KEY (month, account_sid)
) WITHOUT ROWID;
CREATE TABLE usage_yearly_total (
    account_sid  TEXT    NOT NULL,
    year         TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    usage_micros INTEGER NOT NULL,
    price_micros INTEGER NOT NULL,
    PRIMARY KEY (year, account_sid)
) WITHOUT ROWID;
INSERT INTO usage_yearly
    SELECT account_sid, strftime('%Y-01-01', month), category, SUM(count), SUM(usage_micros), SUM(price_micros)
    FROM usage_monthly GROUP BY 1, 2, 3;
INSERT INTO usage_monthly_total
    SELECT account_sid, month, SUM(count), SUM(usage_micros), SUM(price_micros)
    FROM usage_monthly GROUP BY 1, 2;
INSERT INTO usage_yearly_total
    SELECT account_sid, year, SUM(count), SUM(usage_micros), SUM(price_micros)
    FROM usage_yearly GROUP BY 1, 2;

-- +goose Down
DROP TABLE usage_yearly_total;
DROP TABLE usage_monthly_total;
DROP TABLE usage_yearly;
