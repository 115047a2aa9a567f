-- Users and files. Times are Unix milliseconds (BIGINT) so one set of queries serves
-- PostgreSQL and SQLite alike through sqlx's Any driver.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE files (
    id            BIGSERIAL PRIMARY KEY,
    file_type     TEXT   NOT NULL CHECK (file_type IN ('avatar', 'material', 'receipt', 'post_image', 'general')),
    object_key    TEXT   NOT NULL UNIQUE,
    original_name TEXT   NOT NULL,
    content_type  TEXT   NOT NULL,
    size          BIGINT NOT NULL CHECK (size >= 0),
    status        TEXT   NOT NULL CHECK (status IN ('pending', 'uploaded')),
    uploaded_by   BIGINT NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL
);

CREATE INDEX files_by_type ON files (status, file_type, id DESC);
CREATE INDEX files_by_uploader ON files (uploaded_by, status, id DESC);
