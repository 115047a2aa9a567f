-- The fencing token of the last run of a job that wrote here: a run whose lock expired (and
-- was taken by a later run with a larger token) cannot write after that later run. The
-- view write-back records its token in the transaction that adds the views.
CREATE TABLE job_fences (
    job        TEXT   PRIMARY KEY,
    fence      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
