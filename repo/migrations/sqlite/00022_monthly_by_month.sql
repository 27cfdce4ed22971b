-- +goose Up
-- Same index as the Postgres migration of the same number; SQLite has no
-- INCLUDE, so the sums are trailing key columns to keep it covering.
CREATE INDEX usage_monthly_by_month ON usage_monthly (month, category, account_sid, count, usage_micros, price_micros);

-- +goose Down
DROP INDEX usage_monthly_by_month;
