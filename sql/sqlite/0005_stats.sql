-- Per-domain daily sending figures (Octeth v5.9.4's sender_domain_stats): one row per sender
-- domain and UTC day (StatDate is YYYY-MM-DD). `octeth-domains stats import` fills it from
-- PowerMTA accounting files.
CREATE TABLE IF NOT EXISTS {p}sender_domain_stats (
    DomainID INTEGER NOT NULL,
    StatDate TEXT NOT NULL,
    Sent INTEGER NOT NULL DEFAULT 0,
    Delivered INTEGER NOT NULL DEFAULT 0,
    Bounced INTEGER NOT NULL DEFAULT 0,
    Complaints INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (DomainID, StatDate)
);

-- The accounting files already imported: the same size and content hash is the same file.
CREATE TABLE IF NOT EXISTS {p}sender_domain_stats_files (
    FileID INTEGER PRIMARY KEY AUTOINCREMENT,
    FileName TEXT NOT NULL,
    FileSize INTEGER NOT NULL,
    ContentHash TEXT NOT NULL,
    ImportedAt TEXT NOT NULL,
    Records INTEGER NOT NULL DEFAULT 0,
    UnknownRecords INTEGER NOT NULL DEFAULT 0,
    UNIQUE (ContentHash, FileSize)
);
