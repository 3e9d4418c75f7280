-- When each domain was last verified (any verify call, cached or not, and reverify), and the last
-- probe's per-record diagnostics and domain health, kept apart from VerificationMeta so that the
-- get/list bodies stay the PHP product's, and so that list never reads them.
ALTER TABLE {p}sender_domains ADD COLUMN LastVerifiedAt TEXT NULL;

CREATE TABLE IF NOT EXISTS {p}sender_domain_probes (
    DomainID INTEGER NOT NULL PRIMARY KEY,
    CheckedAt TEXT NOT NULL,
    Probe TEXT NOT NULL
);
