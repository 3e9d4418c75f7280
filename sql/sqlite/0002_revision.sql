-- Every write of a sender domain adds one to its Revision, so that the sum over a user's rows
-- changes whenever any of them does: a process can tell that the list it rendered is still current
-- from one index-only query (octeth_domains/senderdomains/listing.py).
ALTER TABLE {p}sender_domains ADD COLUMN Revision INTEGER NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS {p}ix_sender_domains_revision ON {p}sender_domains (RelUserID, Revision);
