-- API tokens for scripts and third-party clients: only a SHA-256 of the token is kept.
-- Scopes are space-separated (`cache:admin read write`). Times are Unix milliseconds.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    scopes       TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- Security events. No foreign keys: the log outlives the users and tokens it names.
CREATE TABLE audit_events (
    id            BIGSERIAL PRIMARY KEY,
    at            BIGINT NOT NULL,
    action        TEXT   NOT NULL,
    actor_user_id BIGINT,
    subject       TEXT,
    client_ip     TEXT,
    detail        TEXT   NOT NULL
);
CREATE INDEX audit_events_by_action ON audit_events (action, id DESC);
CREATE INDEX audit_events_by_actor ON audit_events (actor_user_id, id DESC);
