-- The dashboard's summaries, as on PostgreSQL (see its migration of the same name): members,
-- dues and payments counted per org unit of their member, kept exact by triggers in the
-- transaction of every write. SQLite has row triggers only; it runs one writer at a time, so
-- the order in which they touch rows cannot deadlock. Rows falling to zero stay; readers skip
-- zero counts.
CREATE TABLE member_counts (
    org_unit_id INTEGER NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    status      TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (org_unit_id, status)
);

CREATE TABLE dues_totals (
    period       TEXT    NOT NULL,
    org_unit_id  INTEGER NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    currency     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    due_date     TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    PRIMARY KEY (period, org_unit_id, currency, status, due_date)
);

CREATE TABLE dues_paid_totals (
    period       TEXT    NOT NULL,
    org_unit_id  INTEGER NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    currency     TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    PRIMARY KEY (period, org_unit_id, currency)
);

CREATE TABLE payment_month_totals (
    month        TEXT    NOT NULL,
    org_unit_id  INTEGER NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    purpose      TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    quantity     INTEGER NOT NULL,
    PRIMARY KEY (month, org_unit_id, purpose, currency)
);

CREATE INDEX members_by_created_at ON members (created_at, org_unit_id);

-- Members.
CREATE TRIGGER members_summaries_insert AFTER INSERT ON members
BEGIN
    INSERT INTO member_counts (org_unit_id, status, n) VALUES (NEW.org_unit_id, NEW.status, 1)
    ON CONFLICT (org_unit_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER members_summaries_delete AFTER DELETE ON members
BEGIN
    INSERT INTO member_counts (org_unit_id, status, n) VALUES (OLD.org_unit_id, OLD.status, -1)
    ON CONFLICT (org_unit_id, status) DO UPDATE SET n = n - 1;
END;

CREATE TRIGGER members_summaries_update AFTER UPDATE OF org_unit_id, status ON members
WHEN OLD.org_unit_id <> NEW.org_unit_id OR OLD.status <> NEW.status
BEGIN
    INSERT INTO member_counts (org_unit_id, status, n) VALUES (OLD.org_unit_id, OLD.status, -1)
    ON CONFLICT (org_unit_id, status) DO UPDATE SET n = n - 1;
    INSERT INTO member_counts (org_unit_id, status, n) VALUES (NEW.org_unit_id, NEW.status, 1)
    ON CONFLICT (org_unit_id, status) DO UPDATE SET n = n + 1;

    -- A move takes the member's dues and payments along.
    INSERT INTO dues_totals (period, org_unit_id, currency, status, due_date, n, amount_cents)
    SELECT d.period, x.unit, d.currency, d.status, d.due_date, SUM(x.sign), SUM(x.sign * d.amount_cents)
    FROM dues d
    JOIN (SELECT OLD.org_unit_id AS unit, -1 AS sign UNION ALL SELECT NEW.org_unit_id, 1) AS x
    WHERE d.member_id = NEW.id AND OLD.org_unit_id <> NEW.org_unit_id
    GROUP BY d.period, x.unit, d.currency, d.status, d.due_date
    ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
    SET n = n + excluded.n, amount_cents = amount_cents + excluded.amount_cents;

    INSERT INTO dues_paid_totals (period, org_unit_id, currency, n, amount_cents)
    SELECT d.period, x.unit, p.currency, SUM(x.sign), SUM(x.sign * p.amount_cents)
    FROM payments p
    JOIN dues d ON d.id = p.dues_id
    JOIN (SELECT OLD.org_unit_id AS unit, -1 AS sign UNION ALL SELECT NEW.org_unit_id, 1) AS x
    WHERE p.member_id = NEW.id AND p.purpose = 'dues' AND OLD.org_unit_id <> NEW.org_unit_id
    GROUP BY d.period, x.unit, p.currency
    ON CONFLICT (period, org_unit_id, currency) DO UPDATE
    SET n = n + excluded.n, amount_cents = amount_cents + excluded.amount_cents;

    INSERT INTO payment_month_totals (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
    SELECT substr(p.paid_on, 1, 7), x.unit, p.purpose, p.currency, SUM(x.sign),
           SUM(x.sign * p.amount_cents), SUM(x.sign * COALESCE(p.quantity, 0))
    FROM payments p
    JOIN (SELECT OLD.org_unit_id AS unit, -1 AS sign UNION ALL SELECT NEW.org_unit_id, 1) AS x
    WHERE p.member_id = NEW.id AND OLD.org_unit_id <> NEW.org_unit_id
    GROUP BY substr(p.paid_on, 1, 7), x.unit, p.purpose, p.currency
    ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
    SET n = n + excluded.n, amount_cents = amount_cents + excluded.amount_cents,
        quantity = quantity + excluded.quantity;
END;

-- Dues, under their member's unit.
CREATE TRIGGER dues_summaries_insert AFTER INSERT ON dues
BEGIN
    INSERT INTO dues_totals (period, org_unit_id, currency, status, due_date, n, amount_cents)
    SELECT NEW.period, m.org_unit_id, NEW.currency, NEW.status, NEW.due_date, 1, NEW.amount_cents
    FROM members m WHERE m.id = NEW.member_id
    ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
    SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents;
END;

CREATE TRIGGER dues_summaries_delete AFTER DELETE ON dues
BEGIN
    INSERT INTO dues_totals (period, org_unit_id, currency, status, due_date, n, amount_cents)
    SELECT OLD.period, m.org_unit_id, OLD.currency, OLD.status, OLD.due_date, -1, -OLD.amount_cents
    FROM members m WHERE m.id = OLD.member_id
    ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
    SET n = n - 1, amount_cents = amount_cents + excluded.amount_cents;
END;

CREATE TRIGGER dues_summaries_update AFTER UPDATE ON dues
BEGIN
    INSERT INTO dues_totals (period, org_unit_id, currency, status, due_date, n, amount_cents)
    SELECT OLD.period, m.org_unit_id, OLD.currency, OLD.status, OLD.due_date, -1, -OLD.amount_cents
    FROM members m WHERE m.id = OLD.member_id
    ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
    SET n = n - 1, amount_cents = amount_cents + excluded.amount_cents;
    INSERT INTO dues_totals (period, org_unit_id, currency, status, due_date, n, amount_cents)
    SELECT NEW.period, m.org_unit_id, NEW.currency, NEW.status, NEW.due_date, 1, NEW.amount_cents
    FROM members m WHERE m.id = NEW.member_id
    ON CONFLICT (period, org_unit_id, currency, status, due_date) DO UPDATE
    SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents;
END;

-- Payments: dues payments by their dues' period, every payment by the month of its date.
CREATE TRIGGER payments_summaries_insert AFTER INSERT ON payments
BEGIN
    INSERT INTO dues_paid_totals (period, org_unit_id, currency, n, amount_cents)
    SELECT d.period, m.org_unit_id, NEW.currency, 1, NEW.amount_cents
    FROM dues d JOIN members m ON m.id = NEW.member_id
    WHERE d.id = NEW.dues_id AND NEW.purpose = 'dues'
    ON CONFLICT (period, org_unit_id, currency) DO UPDATE
    SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents;
    INSERT INTO payment_month_totals (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
    SELECT substr(NEW.paid_on, 1, 7), m.org_unit_id, NEW.purpose, NEW.currency, 1,
           NEW.amount_cents, COALESCE(NEW.quantity, 0)
    FROM members m WHERE m.id = NEW.member_id
    ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
    SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents,
        quantity = quantity + excluded.quantity;
END;

CREATE TRIGGER payments_summaries_delete AFTER DELETE ON payments
BEGIN
    INSERT INTO dues_paid_totals (period, org_unit_id, currency, n, amount_cents)
    SELECT d.period, m.org_unit_id, OLD.currency, -1, -OLD.amount_cents
    FROM dues d JOIN members m ON m.id = OLD.member_id
    WHERE d.id = OLD.dues_id AND OLD.purpose = 'dues'
    ON CONFLICT (period, org_unit_id, currency) DO UPDATE
    SET n = n - 1, amount_cents = amount_cents + excluded.amount_cents;
    INSERT INTO payment_month_totals (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
    SELECT substr(OLD.paid_on, 1, 7), m.org_unit_id, OLD.purpose, OLD.currency, -1,
           -OLD.amount_cents, -COALESCE(OLD.quantity, 0)
    FROM members m WHERE m.id = OLD.member_id
    ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
    SET n = n - 1, amount_cents = amount_cents + excluded.amount_cents,
        quantity = quantity + excluded.quantity;
END;

-- Only the columns the summaries read: a receipt file or stock unit set to NULL changes nothing.
CREATE TRIGGER payments_summaries_update
AFTER UPDATE OF member_id, dues_id, purpose, currency, paid_on, amount_cents, quantity ON payments
BEGIN
    INSERT INTO dues_paid_totals (period, org_unit_id, currency, n, amount_cents)
    SELECT d.period, m.org_unit_id, OLD.currency, -1, -OLD.amount_cents
    FROM dues d JOIN members m ON m.id = OLD.member_id
    WHERE d.id = OLD.dues_id AND OLD.purpose = 'dues'
    ON CONFLICT (period, org_unit_id, currency) DO UPDATE
    SET n = n - 1, amount_cents = amount_cents + excluded.amount_cents;
    INSERT INTO payment_month_totals (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
    SELECT substr(OLD.paid_on, 1, 7), m.org_unit_id, OLD.purpose, OLD.currency, -1,
           -OLD.amount_cents, -COALESCE(OLD.quantity, 0)
    FROM members m WHERE m.id = OLD.member_id
    ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
    SET n = n - 1, amount_cents = amount_cents + excluded.amount_cents,
        quantity = quantity + excluded.quantity;
    INSERT INTO dues_paid_totals (period, org_unit_id, currency, n, amount_cents)
    SELECT d.period, m.org_unit_id, NEW.currency, 1, NEW.amount_cents
    FROM dues d JOIN members m ON m.id = NEW.member_id
    WHERE d.id = NEW.dues_id AND NEW.purpose = 'dues'
    ON CONFLICT (period, org_unit_id, currency) DO UPDATE
    SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents;
    INSERT INTO payment_month_totals (month, org_unit_id, purpose, currency, n, amount_cents, quantity)
    SELECT substr(NEW.paid_on, 1, 7), m.org_unit_id, NEW.purpose, NEW.currency, 1,
           NEW.amount_cents, COALESCE(NEW.quantity, 0)
    FROM members m WHERE m.id = NEW.member_id
    ON CONFLICT (month, org_unit_id, purpose, currency) DO UPDATE
    SET n = n + 1, amount_cents = amount_cents + excluded.amount_cents,
        quantity = quantity + excluded.quantity;
END;

-- The rows already there.
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
