-- Login sessions live here, with Redis only as their cache, so a Redis restart or eviction
-- never logs anyone out. A refresh moves a session to its next generation with one
-- compare-and-set UPDATE, so a refresh racing a logout cannot bring the session back.
CREATE TABLE sessions (
    id           TEXT   PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    generation   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    refreshed_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- The last time step a one-time code was accepted for: a code for that step or an earlier one
-- is refused (replay), however the cache fares.
ALTER TABLE users ADD COLUMN otp_last_step BIGINT;
-- Set when an administrator reset the password: the user must choose a new one before
-- anything else.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

-- Single-use recovery codes, stored as SHA-256 (each carries 80 random bits).
CREATE TABLE recovery_codes (
    id        BIGSERIAL PRIMARY KEY,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT   NOT NULL,
    used_at   BIGINT
);
CREATE UNIQUE INDEX recovery_codes_by_user ON recovery_codes (user_id, code_hash);
