-- user.login takes an email address for Username (Octeth's users page): found by index, so that
-- an unknown address costs no scan of the accounts.
CREATE INDEX IF NOT EXISTS ix_users_email ON {p}users (EmailAddress);
