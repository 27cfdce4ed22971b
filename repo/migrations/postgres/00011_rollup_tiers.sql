-- +goose Up
-- Coarser rollup tiers, kept exact in the ingestion transaction like
-- usage_monthly, so that the accounts overview reads about 1,000 rows per
-- month or year of 1,000 accounts instead of 8,000 or 96,000: whole years
-- per category, and account totals over every category (what totalprice
-- sums) per month and per year. Each costs one more upsert per batch. Keyed
-- period first, unlike the per-account tiers: the overview reads periods of
-- every account, an index-only range of about 1,000 rows each.
CREATE TABLE usage_yearly (
    account_sid  text   NOT NULL,
    year         date   NOT NULL, -- its first day
    category     text   NOT NULL,
    count        bigint NOT NULL,
    usage_micros bigint NOT NULL,
    price_micros bigint NOT NULL,
    PRIMARY KEY (year, category, account_sid) INCLUDE (count, usage_micros, price_micros)
);
CREATE TABLE usage_monthly_total (
    account_sid  text   NOT NULL,
    month        date   NOT NULL,
    count        bigint NOT NULL,
    usage_micros bigint NOT NULL,
    price_micros bigint NOT NULL,
    PRIMARY KEY (month, account_sid) INCLUDE (count, usage_micros, price_micros)
);
CREATE TABLE usage_yearly_total (
    account_sid  text   NOT NULL,
    year         date   NOT NULL,
    count        bigint NOT NULL,
    usage_micros bigint NOT NULL,
    price_micros bigint NOT NULL,
    PRIMARY KEY (year, account_sid) INCLUDE (count, usage_micros, price_micros)
);
INSERT INTO usage_yearly
    SELECT account_sid, CAST(date_trunc('year', month) AS date), category, SUM(count), SUM(usage_micros), SUM(price_micros)
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
