-- Members (people of the organisation, each in one cell), the dues they owe per month, and the
-- payments received from them. Money is integer cents plus an ISO currency code; dates are ISO
-- `YYYY-MM-DD` text (they sort as dates on both databases); times are Unix milliseconds.
CREATE TABLE members (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT   NOT NULL,
    email       TEXT,
    org_unit_id BIGINT NOT NULL REFERENCES org_units (id),
    status      TEXT   NOT NULL CHECK (status IN ('active', 'inactive', 'suspended')),
    created_at  BIGINT NOT NULL
);
CREATE INDEX members_by_unit ON members (org_unit_id, id);

-- A user may be linked to its own member record.
ALTER TABLE users ADD COLUMN member_id BIGINT REFERENCES members (id) ON DELETE SET NULL;

CREATE TABLE dues (
    id           BIGSERIAL PRIMARY KEY,
    member_id    BIGINT NOT NULL REFERENCES members (id),
    period       TEXT   NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    currency     TEXT   NOT NULL,
    due_date     TEXT   NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('open', 'paid', 'waived')),
    created_at   BIGINT NOT NULL,
    UNIQUE (member_id, period)
);

CREATE TABLE payments (
    id           BIGSERIAL PRIMARY KEY,
    member_id    BIGINT NOT NULL REFERENCES members (id),
    dues_id      BIGINT REFERENCES dues (id),
    purpose      TEXT   NOT NULL CHECK (purpose IN ('dues', 'material', 'donation')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    currency     TEXT   NOT NULL,
    method       TEXT   NOT NULL CHECK (method IN ('cash', 'pix', 'transfer', 'card', 'other')),
    paid_on      TEXT   NOT NULL,
    recorded_by  BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL
);
CREATE INDEX payments_by_member ON payments (member_id, id);
CREATE INDEX payments_by_dues ON payments (dues_id);
CREATE INDEX payments_by_recorder ON payments (recorded_by);
