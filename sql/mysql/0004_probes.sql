-- When each domain was last verified (any verify call, cached or not, and reverify), and the last
-- probe's per-record diagnostics and domain health, kept apart from VerificationMeta so that the
-- get/list bodies stay the PHP product's, and so that list never reads them.
ALTER TABLE {p}sender_domains ADD COLUMN LastVerifiedAt DATETIME NULL;

CREATE TABLE IF NOT EXISTS {p}sender_domain_probes (
    DomainID INT UNSIGNED NOT NULL PRIMARY KEY,
    CheckedAt DATETIME NOT NULL,
    Probe LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
