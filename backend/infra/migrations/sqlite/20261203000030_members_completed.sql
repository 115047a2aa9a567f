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

-- Sorting by name (the folded text) or joining date, ties by id: over the whole organisation,
-- and within a scope (a scope is a set of cells: each cell's members come in order, and a search
-- inside a scope filters the index entries without reading the table).
CREATE INDEX members_by_search_text ON members (search_text, id);
CREATE INDEX members_by_joined_on ON members (joined_on, id);
CREATE INDEX members_by_unit_search_text ON members (org_unit_id, search_text, id);
CREATE INDEX members_by_unit_joined_on ON members (org_unit_id, joined_on, id);
-- Search is a plain LIKE here.
-- Deleting an avatar file sets the members that show it to NULL.
CREATE INDEX members_by_avatar ON members (avatar_file_id) WHERE avatar_file_id IS NOT NULL;
