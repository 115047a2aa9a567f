-- The fencing token of the last run of a job that wrote here (see the PostgreSQL migration of
-- the same name).
CREATE TABLE job_fences (
    job        TEXT    PRIMARY KEY,
    fence      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
