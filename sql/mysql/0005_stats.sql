-- Per-domain daily sending figures (Octeth v5.9.4's sender_domain_stats): one row per sender
-- domain and UTC day. Octeth's sending engine writes it when the PHP product shares this database;
-- standing alone, `octeth-domains stats import` fills it from PowerMTA accounting files.
CREATE TABLE IF NOT EXISTS {p}sender_domain_stats (
    DomainID INT UNSIGNED NOT NULL,
    StatDate DATE NOT NULL,
    Sent INT UNSIGNED NOT NULL DEFAULT 0,
    Delivered INT UNSIGNED NOT NULL DEFAULT 0,
    Bounced INT UNSIGNED NOT NULL DEFAULT 0,
    Complaints INT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (DomainID, StatDate)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- The accounting files already imported, so that importing one again adds nothing: a file is
-- the same file when its size and content hash are (whatever it is called now).
CREATE TABLE IF NOT EXISTS {p}sender_domain_stats_files (
    FileID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    FileName VARCHAR(255) NOT NULL,
    FileSize BIGINT UNSIGNED NOT NULL,
    ContentHash CHAR(64) NOT NULL,
    ImportedAt DATETIME NOT NULL,
    Records INT UNSIGNED NOT NULL DEFAULT 0,
    UnknownRecords INT UNSIGNED NOT NULL DEFAULT 0,
    UNIQUE KEY uq_content (ContentHash, FileSize)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
