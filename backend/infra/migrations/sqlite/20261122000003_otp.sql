-- A user's TOTP secret (base32) and whether login requires it. A secret set while otp_enabled is
-- 0 is an enrolment waiting for its first correct code.
ALTER TABLE users ADD COLUMN otp_secret TEXT;
ALTER TABLE users ADD COLUMN otp_enabled INTEGER NOT NULL DEFAULT 0 CHECK (otp_enabled IN (0, 1));
