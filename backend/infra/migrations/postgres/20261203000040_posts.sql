-- The posts board: a board per org unit, posts with images (files of type post_image, a type
-- the files table accepts since its first migration). A unit's board goes with the unit; an
-- image file deleted leaves its posts. view_count holds the views written back from the state
-- store by the periodic job.
CREATE TABLE posts (
    id          BIGSERIAL PRIMARY KEY,
    org_unit_id BIGINT  NOT NULL REFERENCES org_units (id) ON DELETE CASCADE,
    author_id   BIGINT  NOT NULL REFERENCES users (id),
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    pinned      BOOLEAN NOT NULL DEFAULT FALSE,
    view_count  BIGINT  NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
-- A board's page: pinned first, then newest first.
CREATE INDEX posts_by_board ON posts (org_unit_id, pinned DESC, created_at DESC, id DESC);
-- Every board at once (a reader's whole scope).
CREATE INDEX posts_by_time ON posts (pinned DESC, created_at DESC, id DESC);
-- The popular window (the last 30 days).
CREATE INDEX posts_by_created ON posts (created_at);
CREATE INDEX posts_by_author ON posts (author_id);

CREATE TABLE post_images (
    post_id  BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    file_id  BIGINT  NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (post_id, position),
    UNIQUE (post_id, file_id)
);
CREATE INDEX post_images_by_file ON post_images (file_id);
