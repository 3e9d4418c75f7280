-- Users, their groups, sessions and sender domains. {p} is OCTETH_TABLE_PREFIX.

CREATE TABLE IF NOT EXISTS {p}user_groups (
    UserGroupID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    GroupName VARCHAR(190) NOT NULL,
    Permissions TEXT NOT NULL,
    SenderDomainLimit INT UNSIGNED NOT NULL DEFAULT 0,
    DNSTemplate VARCHAR(64) NOT NULL DEFAULT 'Default',
    ManualApproval TINYINT(1) NOT NULL DEFAULT 0,
    DefaultSenderDomain VARCHAR(253) NOT NULL DEFAULT '',
    UNIQUE KEY uq_group_name (GroupName)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {p}users (
    UserID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    Username VARCHAR(190) NOT NULL,
    EmailAddress VARCHAR(254) NOT NULL DEFAULT '',
    PasswordHash VARCHAR(255) NOT NULL DEFAULT '',
    APIKeyHash CHAR(64) NULL,
    RelUserGroupID INT UNSIGNED NOT NULL,
    CreatedAt DATETIME NOT NULL,
    UNIQUE KEY uq_username (Username),
    UNIQUE KEY uq_api_key (APIKeyHash),
    KEY ix_group (RelUserGroupID)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {p}sessions (
    SessionHash CHAR(64) NOT NULL PRIMARY KEY,
    RelUserID INT UNSIGNED NOT NULL,
    CreatedAt BIGINT NOT NULL,
    LastSeenAt BIGINT NOT NULL,
    KEY ix_user (RelUserID)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

CREATE TABLE IF NOT EXISTS {p}sender_domains (
    DomainID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    SenderDomain VARCHAR(253) NOT NULL,
    RelUserID INT UNSIGNED NOT NULL,
    CreatedAt DATETIME NOT NULL,
    Status VARCHAR(32) NOT NULL DEFAULT 'Approval Pending',
    VerificationMeta LONGTEXT NOT NULL,
    PolicyMeta LONGTEXT NOT NULL,
    Options LONGTEXT NOT NULL,
    Approved TINYINT(1) NOT NULL DEFAULT 0,
    FailedChecks INT UNSIGNED NOT NULL DEFAULT 0,
    UNIQUE KEY uq_domain_user (SenderDomain, RelUserID),
    KEY ix_user_status (RelUserID, Status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
