-- The organisation tree, stored as a materialized path ('/1/4/9/'): "a unit and everything below
-- it" is the range [path, path-with-its-last-'/'-as-'0'), one scan of an ordinary B-tree. COLLATE "C"
-- makes PostgreSQL compare bytes, as SQLite does, so the range means the same on both.
CREATE TABLE org_units (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT   NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('central', 'regional', 'sector', 'cell')),
    parent_id  BIGINT REFERENCES org_units (id),
    path       TEXT   COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX org_units_by_parent ON org_units (parent_id);

ALTER TABLE users ADD COLUMN org_unit_id BIGINT REFERENCES org_units (id);
ALTER TABLE users ADD COLUMN is_treasurer BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN is_active BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX users_by_org_unit ON users (org_unit_id);

ALTER TABLE files ADD COLUMN org_unit_id BIGINT REFERENCES org_units (id);
CREATE INDEX files_by_org_unit ON files (org_unit_id, status, id DESC);
