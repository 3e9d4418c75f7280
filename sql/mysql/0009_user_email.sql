-- user.login takes an email address for Username (Octeth's users page): found by index, so that
-- an unknown address costs no scan of the accounts.
ALTER TABLE {p}users ADD KEY ix_users_email (EmailAddress);
