-- The dashboard's dues of the month (expected, overdue): one period out of every member's twelve
-- (docs/benchmarks.md). SQLite has no INCLUDE: the columns the figure reads are keys, so the
-- index still covers it.
CREATE INDEX dues_by_period ON dues (period, member_id, status, amount_cents, currency, due_date);
