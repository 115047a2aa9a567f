-- Users and files. Times are Unix milliseconds so one set of queries serves
-- PostgreSQL and SQLite alike through sqlx's Any driver. Booleans are 0/1.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    INTEGER NOT NULL
);

CREATE TABLE files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    file_type     TEXT    NOT NULL CHECK (file_type IN ('avatar', 'material', 'receipt', 'post_image', 'general')),
    object_key    TEXT    NOT NULL UNIQUE,
    original_name TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'uploaded')),
    uploaded_by   INTEGER NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL
);

CREATE INDEX files_by_type ON files (status, file_type, id DESC);
CREATE INDEX files_by_uploader ON files (uploaded_by, status, id DESC);
