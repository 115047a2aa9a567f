-- The dashboard's summaries: members, dues and payments counted per org unit (the unit of the
-- member they belong to, as the dashboard has always attributed them), kept exact by triggers in
-- the transaction of every write, whatever writes it (the API, the bulk COPY loader, plain SQL).
-- The dashboard reads these few thousand rows instead of aggregating a million payments
-- (docs/benchmarks.md, docs/architecture.md).
--
-- Rows are never deleted when they fall to zero: a later write finds them again, and readers skip
-- zero counts. Every trigger here is per statement with transition tables, so a COPY of a million
-- rows updates each summary row once, and it writes its rows in key order (one `INSERT … SELECT …
-- ORDER BY … ON CONFLICT`): concurrent writers of one unit queue on the same rows in the same
-- order instead of deadlocking. Across tables the order is always member_counts, dues_totals,
-- dues_paid_totals, payment_month_totals (payment deletion reopens its dues before deleting).

-- Members per unit and status.
CREATE TABLE member_counts (
    org_unit_id BIGINT NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    status      TEXT   NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (org_unit_id, status)
);

-- Dues per period, member's unit, currency, status and due date (overdue compares the due date
-- with the day the dashboard is read, so it is part of the key).
CREATE TABLE dues_totals (
    period       TEXT   NOT NULL,
    org_unit_id  BIGINT NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    currency     TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    due_date     TEXT   NOT NULL,
    n            BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (period, org_unit_id, currency, status, due_date)
);

-- Dues payments per period of the dues they pay, member's unit and the payment's currency.
CREATE TABLE dues_paid_totals (
    period       TEXT   NOT NULL,
    org_unit_id  BIGINT NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    currency     TEXT   NOT NULL,
    n            BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (period, org_unit_id, currency)
);

-- Payments per month of `paid_on` (a date, so its `YYYY-MM`), member's unit, purpose, currency.
CREATE TABLE payment_month_totals (
    month        TEXT   NOT NULL,
    org_unit_id  BIGINT NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    purpose      TEXT   NOT NULL,
    currency     TEXT   NOT NULL,
    n            BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    quantity     BIGINT NOT NULL,
    PRIMARY KEY (month, org_unit_id, purpose, currency)
);

-- "New this month" counts members by creation time in the organisation's time zone, which a
-- trigger does not know: an index-only range scan of the month's members answers it.
CREATE INDEX members_by_created_at ON members (created_at, org_unit_id);

-- Members: inserted, deleted, or moved / changed status (a move takes the member's dues and
-- payments along to the new unit).
CREATE FUNCTION tessera_members_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO member_counts AS c (org_unit_id, status, n)
        SELECT org_unit_id, status, COUNT(*) FROM new_rows
        GROUP BY org_unit_id, status ORDER BY org_unit_id, status
        ON CONFLICT (org_unit_id, status) DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO member_counts AS c (org_unit_id, status, n)
        SELECT org_unit_id, status, -COUNT(*) FROM old_rows
        GROUP BY org_unit_id, status ORDER BY org_unit_id, status
        ON CONFLICT (org_unit_id, status) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        -- Most updates change neither unit nor status: they touch no summary.
        IF NOT EXISTS (
            SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.org_unit_id <> n.org_unit_id OR o.status <> n.status
        ) THEN
            RETURN NULL;
        END IF;
        WITH tessera_moved AS (
            SELECT o.id, o.org_unit_id AS old_unit, n.org_unit_id AS new_unit,
                   o.status AS old_status, n.status AS new_status
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.org_unit_id <> n.org_unit_id OR o.status <> n.status
        )
        INSERT INTO member_counts AS c (org_unit_id, status, n)
        SELECT unit, status, SUM(d) FROM (
            SELECT old_unit, old_status, -1 FROM tessera_moved
            UNION ALL SELECT new_unit, new_status, 1 FROM tessera_moved
        ) AS x (unit, status, d)
        GROUP BY unit, status HAVING SUM(d) <> 0 ORDER BY unit, status
        ON CONFLICT (org_unit_id, status) DO UPDATE SET n = c.n + excluded.n;

        WITH tessera_moved AS (
            SELECT o.id, o.org_unit_id AS old_unit, n.org_unit_id AS new_unit,
                   o.status AS old_status, n.status AS new_status
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.org_unit_id <> n.org_unit_id OR o.status <> n.status
        )
        INSERT INTO dues_totals AS t (period, org_unit_id, currency, status, due_date, n, amount_cents)
        SELECT d.period, x.unit, d.currency, d.status, d.due_date, SUM(x.sign), SUM(x.sign * d.amount_cents)
        FROM tessera_moved mv
        CROSS JOIN LATERAL (VALUES (mv.old_unit, -1), (mv.new_unit, 1)) AS x (unit, sign)
        JOIN dues d ON d.member_id = mv.id
        WHERE mv.old_unit <> mv.new_unit
        GROUP BY d.period, x.unit, d.currency, d.status, d.due_date
        HAVING SUM(x.sign) <> 0
        ORDER BY d.period, x.unit, d.currency, d.status, d.due_date
        ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;

        WITH tessera_moved AS (
            SELECT o.id, o.org_unit_id AS old_unit, n.org_unit_id AS new_unit,
                   o.status AS old_status, n.status AS new_status
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.org_unit_id <> n.org_unit_id OR o.status <> n.status
        )
        INSERT INTO dues_paid_totals AS t (period, org_unit_id, currency, n, amount_cents)
        SELECT d.period, x.unit, p.currency, SUM(x.sign), SUM(x.sign * p.amount_cents)
        FROM tessera_moved mv
        CROSS JOIN LATERAL (VALUES (mv.old_unit, -1), (mv.new_unit, 1)) AS x (unit, sign)
        JOIN payments p ON p.member_id = mv.id AND p.purpose = 'dues'
        JOIN dues d ON d.id = p.dues_id
        WHERE mv.old_unit <> mv.new_unit
        GROUP BY d.period, x.unit, p.currency
        HAVING SUM(x.sign) <> 0
        ORDER BY d.period, x.unit, p.currency
        ON CONFLICT (period, org_unit_id, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;

        WITH tessera_moved AS (
            SELECT o.id, o.org_unit_id AS old_unit, n.org_unit_id AS new_unit,
                   o.status AS old_status, n.status AS new_status
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.org_unit_id <> n.org_unit_id OR o.status <> n.status
        )
        INSERT INTO payment_month_totals AS t (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
        SELECT substr(p.paid_on, 1, 7), x.unit, p.purpose, p.currency, SUM(x.sign),
               SUM(x.sign * p.amount_cents), SUM(x.sign * COALESCE(p.quantity, 0))
        FROM tessera_moved mv
        CROSS JOIN LATERAL (VALUES (mv.old_unit, -1), (mv.new_unit, 1)) AS x (unit, sign)
        JOIN payments p ON p.member_id = mv.id
        WHERE mv.old_unit <> mv.new_unit
        GROUP BY substr(p.paid_on, 1, 7), x.unit, p.purpose, p.currency
        HAVING SUM(x.sign) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents,
            quantity = t.quantity + excluded.quantity;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_summaries_insert AFTER INSERT ON members
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_members_summaries();
CREATE TRIGGER members_summaries_update AFTER UPDATE ON members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_members_summaries();
CREATE TRIGGER members_summaries_delete AFTER DELETE ON members
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_members_summaries();

-- Dues: the rows a statement took away count -1, the rows it left +1, under their member's unit
-- (an update is both, so a status or amount change moves them between keys).
CREATE FUNCTION tessera_dues_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dues_totals AS t (period, org_unit_id, currency, status, due_date, n, amount_cents)
        SELECT d.period, m.org_unit_id, d.currency, d.status, d.due_date, COUNT(*), SUM(d.amount_cents)
        FROM new_rows d JOIN members m ON m.id = d.member_id
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO dues_totals AS t (period, org_unit_id, currency, status, due_date, n, amount_cents)
        SELECT d.period, m.org_unit_id, d.currency, d.status, d.due_date, -COUNT(*), -SUM(d.amount_cents)
        FROM old_rows d JOIN members m ON m.id = d.member_id
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;
    ELSE
        INSERT INTO dues_totals AS t (period, org_unit_id, currency, status, due_date, n, amount_cents)
        SELECT d.period, m.org_unit_id, d.currency, d.status, d.due_date, SUM(d.sign), SUM(d.sign * d.amount_cents)
        FROM (
            SELECT member_id, period, currency, status, due_date, amount_cents, -1 AS sign FROM old_rows
            UNION ALL
            SELECT member_id, period, currency, status, due_date, amount_cents, 1 FROM new_rows
        ) AS d JOIN members m ON m.id = d.member_id
        GROUP BY 1, 2, 3, 4, 5
        HAVING SUM(d.sign) <> 0 OR SUM(d.sign * d.amount_cents) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER dues_summaries_insert AFTER INSERT ON dues
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_dues_summaries();
CREATE TRIGGER dues_summaries_update AFTER UPDATE ON dues
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_dues_summaries();
CREATE TRIGGER dues_summaries_delete AFTER DELETE ON dues
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_dues_summaries();

-- Payments: the same, into the dues-paid totals (dues payments, by their dues' period) and the
-- monthly totals (every payment). Payments are not edited by the API; an update (a receipt file
-- deleted, a stock unit gone) is handled like the rest all the same.
CREATE FUNCTION tessera_payments_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each branch names only the transition tables its trigger declares.
    IF TG_OP = 'INSERT' THEN
        WITH p AS (
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, 1 AS sign
            FROM new_rows
        )
        INSERT INTO dues_paid_totals AS t (period, org_unit_id, currency, n, amount_cents)
        SELECT d.period, m.org_unit_id, p.currency, SUM(p.sign), SUM(p.sign * p.amount_cents)
        FROM p
        JOIN dues d ON d.id = p.dues_id
        JOIN members m ON m.id = p.member_id
        WHERE p.purpose = 'dues'
        GROUP BY 1, 2, 3
        HAVING SUM(p.sign) <> 0 OR SUM(p.sign * p.amount_cents) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (period, org_unit_id, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;

        WITH p AS (
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, 1 AS sign
            FROM new_rows
        )
        INSERT INTO payment_month_totals AS t (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
        SELECT substr(p.paid_on, 1, 7), m.org_unit_id, p.purpose, p.currency, SUM(p.sign),
               SUM(p.sign * p.amount_cents), SUM(p.sign * COALESCE(p.quantity, 0))
        FROM p
        JOIN members m ON m.id = p.member_id
        GROUP BY 1, 2, 3, 4
        HAVING SUM(p.sign) <> 0 OR SUM(p.sign * p.amount_cents) <> 0
            OR SUM(p.sign * COALESCE(p.quantity, 0)) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents,
            quantity = t.quantity + excluded.quantity;
    ELSIF TG_OP = 'DELETE' THEN
        WITH p AS (
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, -1 AS sign
            FROM old_rows
        )
        INSERT INTO dues_paid_totals AS t (period, org_unit_id, currency, n, amount_cents)
        SELECT d.period, m.org_unit_id, p.currency, SUM(p.sign), SUM(p.sign * p.amount_cents)
        FROM p
        JOIN dues d ON d.id = p.dues_id
        JOIN members m ON m.id = p.member_id
        WHERE p.purpose = 'dues'
        GROUP BY 1, 2, 3
        HAVING SUM(p.sign) <> 0 OR SUM(p.sign * p.amount_cents) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (period, org_unit_id, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;

        WITH p AS (
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, -1 AS sign
            FROM old_rows
        )
        INSERT INTO payment_month_totals AS t (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
        SELECT substr(p.paid_on, 1, 7), m.org_unit_id, p.purpose, p.currency, SUM(p.sign),
               SUM(p.sign * p.amount_cents), SUM(p.sign * COALESCE(p.quantity, 0))
        FROM p
        JOIN members m ON m.id = p.member_id
        GROUP BY 1, 2, 3, 4
        HAVING SUM(p.sign) <> 0 OR SUM(p.sign * p.amount_cents) <> 0
            OR SUM(p.sign * COALESCE(p.quantity, 0)) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents,
            quantity = t.quantity + excluded.quantity;
    ELSE
        WITH p AS (
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, -1 AS sign
            FROM old_rows
            UNION ALL
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, 1
            FROM new_rows
        )
        INSERT INTO dues_paid_totals AS t (period, org_unit_id, currency, n, amount_cents)
        SELECT d.period, m.org_unit_id, p.currency, SUM(p.sign), SUM(p.sign * p.amount_cents)
        FROM p
        JOIN dues d ON d.id = p.dues_id
        JOIN members m ON m.id = p.member_id
        WHERE p.purpose = 'dues'
        GROUP BY 1, 2, 3
        HAVING SUM(p.sign) <> 0 OR SUM(p.sign * p.amount_cents) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (period, org_unit_id, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents;

        WITH p AS (
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, -1 AS sign
            FROM old_rows
            UNION ALL
            SELECT member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity, 1
            FROM new_rows
        )
        INSERT INTO payment_month_totals AS t (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
        SELECT substr(p.paid_on, 1, 7), m.org_unit_id, p.purpose, p.currency, SUM(p.sign),
               SUM(p.sign * p.amount_cents), SUM(p.sign * COALESCE(p.quantity, 0))
        FROM p
        JOIN members m ON m.id = p.member_id
        GROUP BY 1, 2, 3, 4
        HAVING SUM(p.sign) <> 0 OR SUM(p.sign * p.amount_cents) <> 0
            OR SUM(p.sign * COALESCE(p.quantity, 0)) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
        SET n = t.n + excluded.n, amount_cents = t.amount_cents + excluded.amount_cents,
            quantity = t.quantity + excluded.quantity;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER payments_summaries_insert AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_payments_summaries();
CREATE TRIGGER payments_summaries_update AFTER UPDATE ON payments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_payments_summaries();
CREATE TRIGGER payments_summaries_delete AFTER DELETE ON payments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_payments_summaries();

-- The rows already there (the migration runs in one transaction, like every write).
INSERT INTO member_counts (org_unit_id, status, n)
SELECT org_unit_id, status, COUNT(*) FROM members GROUP BY org_unit_id, status;

INSERT INTO dues_totals (period, org_unit_id, currency, status, due_date, n, amount_cents)
SELECT d.period, m.org_unit_id, d.currency, d.status, d.due_date, COUNT(*), SUM(d.amount_cents)
FROM dues d JOIN members m ON m.id = d.member_id
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO dues_paid_totals (period, org_unit_id, currency, n, amount_cents)
SELECT d.period, m.org_unit_id, p.currency, COUNT(*), SUM(p.amount_cents)
FROM payments p JOIN dues d ON d.id = p.dues_id JOIN members m ON m.id = p.member_id
WHERE p.purpose = 'dues'
GROUP BY 1, 2, 3;

INSERT INTO payment_month_totals (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
SELECT substr(p.paid_on, 1, 7), m.org_unit_id, p.purpose, p.currency, COUNT(*),
       SUM(p.amount_cents), COALESCE(SUM(p.quantity), 0)
FROM payments p JOIN members m ON m.id = p.member_id
GROUP BY 1, 2, 3, 4;
