-- +goose Up
-- The accounts overview reads months of every account: for totalprice the
-- account totals (keyed month first, 00011), for a named category the
-- monthly rollup, which is keyed account first and was read account by
-- account (1,000 index probes per span of months: 32 of the 46 ms of a
-- year of calls over the bench data). Indexed month first as well, a span
-- is one index-only range. It costs an index entry per monthly upsert:
-- ingestion 9% slower on the bench (17,400 against 19,200 events/s),
-- against 43% for a tier of every parent category summed.
CREATE INDEX usage_monthly_by_month ON usage_monthly (month, category, account_sid) INCLUDE (count, usage_micros, price_micros);

-- +goose Down
DROP INDEX usage_monthly_by_month;
