-- The organisation tree, stored as a materialized path ('/1/4/9/'): "a unit and everything below
-- it" is the range [path, path-with-its-last-'/'-as-'0'), one scan of an ordinary B-tree (SQLite
-- compares TEXT bytewise by default, as PostgreSQL does with COLLATE "C").
CREATE TABLE org_units (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('central', 'regional', 'sector', 'cell')),
    parent_id  INTEGER REFERENCES org_units (id),
    path       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX org_units_by_parent ON org_units (parent_id);

ALTER TABLE users ADD COLUMN org_unit_id INTEGER REFERENCES org_units (id);
ALTER TABLE users ADD COLUMN is_treasurer INTEGER NOT NULL DEFAULT 0 CHECK (is_treasurer IN (0, 1));
ALTER TABLE users ADD COLUMN is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1));
CREATE INDEX users_by_org_unit ON users (org_unit_id);

ALTER TABLE files ADD COLUMN org_unit_id INTEGER REFERENCES org_units (id);
CREATE INDEX files_by_org_unit ON files (org_unit_id, status, id DESC);
