-- The dashboard's dues of the month (expected, overdue): one period out of every member's twelve.
-- Without it the figure read every dues row (200 ms over 1.2 million rows in the benchmark data
-- set); with it an index-only scan of the month's rows (110 ms, docs/benchmarks.md).
CREATE INDEX dues_by_period ON dues (period, member_id) INCLUDE (status, amount_cents, currency, due_date);
