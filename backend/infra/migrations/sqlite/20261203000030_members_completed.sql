-- Members, completed: phone, joining date (ISO `YYYY-MM-DD` text, like every date here), notes,
-- an avatar file, and the text member search looks in.
--
-- `search_text` is the name and email (separated by U+001F) lower-cased and stripped of accents
-- ("joão" → "joao"), which only the application computes (members::search_text): it writes it
-- with every insert and update, and right after migrating fills every row still holding the empty
-- default, so rows that existed before this migration are searchable the same way from the first
-- start on.
ALTER TABLE members ADD COLUMN phone TEXT;
ALTER TABLE members ADD COLUMN joined_on TEXT;
ALTER TABLE members ADD COLUMN notes TEXT;
ALTER TABLE members ADD COLUMN avatar_file_id INTEGER REFERENCES files (id) ON DELETE SET NULL;
ALTER TABLE members ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

-- Sorting by name (the folded text) or joining date; ties by id. Search is a plain LIKE here.
CREATE INDEX members_by_search_text ON members (search_text, id);
CREATE INDEX members_by_joined_on ON members (joined_on, id);
-- Deleting an avatar file sets the members that show it to NULL.
CREATE INDEX members_by_avatar ON members (avatar_file_id) WHERE avatar_file_id IS NOT NULL;
