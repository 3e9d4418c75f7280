-- Users, their groups, sessions and sender domains. {p} is OCTETH_TABLE_PREFIX.

CREATE TABLE IF NOT EXISTS {p}user_groups (
    UserGroupID INTEGER PRIMARY KEY AUTOINCREMENT,
    GroupName TEXT NOT NULL UNIQUE,
    Permissions TEXT NOT NULL,
    SenderDomainLimit INTEGER NOT NULL DEFAULT 0,
    DNSTemplate TEXT NOT NULL DEFAULT 'Default',
    ManualApproval INTEGER NOT NULL DEFAULT 0,
    DefaultSenderDomain TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS {p}users (
    UserID INTEGER PRIMARY KEY AUTOINCREMENT,
    Username TEXT NOT NULL UNIQUE,
    EmailAddress TEXT NOT NULL DEFAULT '',
    PasswordHash TEXT NOT NULL DEFAULT '',
    APIKeyHash TEXT UNIQUE,
    RelUserGroupID INTEGER NOT NULL,
    CreatedAt TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS {p}sessions (
    SessionHash TEXT NOT NULL PRIMARY KEY,
    RelUserID INTEGER NOT NULL,
    CreatedAt INTEGER NOT NULL,
    LastSeenAt INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS {p}ix_sessions_user ON {p}sessions (RelUserID);

CREATE TABLE IF NOT EXISTS {p}sender_domains (
    DomainID INTEGER PRIMARY KEY AUTOINCREMENT,
    SenderDomain TEXT NOT NULL,
    RelUserID INTEGER NOT NULL,
    CreatedAt TEXT NOT NULL,
    Status TEXT NOT NULL DEFAULT 'Approval Pending',
    VerificationMeta TEXT NOT NULL,
    PolicyMeta TEXT NOT NULL,
    Options TEXT NOT NULL,
    Approved INTEGER NOT NULL DEFAULT 0,
    FailedChecks INTEGER NOT NULL DEFAULT 0,
    UNIQUE (SenderDomain, RelUserID)
);
CREATE INDEX IF NOT EXISTS {p}ix_sender_domains_user ON {p}sender_domains (RelUserID, Status);
