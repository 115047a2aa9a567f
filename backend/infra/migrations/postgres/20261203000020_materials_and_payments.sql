-- The material catalogue (types and materials, organisation-wide), stock per org unit, and what
-- a payment settles beyond dues: a material and a quantity (taken from the stock of a unit,
-- remembered so deleting the payment puts it back there), a note, a receipt file. Money stays
-- integer cents plus an ISO currency code.
CREATE TABLE material_types (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    description TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE materials (
    id               BIGSERIAL PRIMARY KEY,
    material_type_id BIGINT NOT NULL REFERENCES material_types (id),
    title            TEXT   NOT NULL,
    edition          TEXT,
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents > 0),
    currency         TEXT   NOT NULL,
    file_id          BIGINT REFERENCES files (id) ON DELETE SET NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX materials_by_type ON materials (material_type_id, id);

-- A unit's stock of a material never goes below zero; a unit that goes takes its stock along.
CREATE TABLE material_stock (
    material_id BIGINT NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    org_unit_id BIGINT NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    quantity    BIGINT NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (material_id, org_unit_id)
);
CREATE INDEX material_stock_by_unit ON material_stock (org_unit_id);

ALTER TABLE payments ADD COLUMN material_id BIGINT REFERENCES materials (id);
ALTER TABLE payments ADD COLUMN quantity BIGINT CHECK (quantity > 0);
ALTER TABLE payments ADD COLUMN stock_org_unit_id BIGINT REFERENCES org_units (id) ON DELETE SET NULL;
ALTER TABLE payments ADD COLUMN note TEXT;
ALTER TABLE payments ADD COLUMN receipt_file_id BIGINT REFERENCES files (id) ON DELETE SET NULL;
CREATE INDEX payments_by_material ON payments (material_id);
CREATE INDEX payments_by_receipt ON payments (receipt_file_id);
CREATE INDEX payments_by_stock_unit ON payments (stock_org_unit_id);
CREATE INDEX materials_by_file ON materials (file_id);
