-- Every write of a sender domain adds one to its Revision, so that the sum over a user's rows
-- changes whenever any of them does: a process can tell that the list it rendered is still current
-- from one index-only query (octeth_domains/senderdomains/listing.py).
ALTER TABLE {p}sender_domains
    ADD COLUMN Revision INT UNSIGNED NOT NULL DEFAULT 1,
    ADD KEY ix_user_revision (RelUserID, Revision);
