-- Administrators: the AdminAPIKey of the admin.* commands (Octeth's moderation of every user's
-- sender domains). Only the key's hash is kept, as for users.
CREATE TABLE IF NOT EXISTS {p}admins (
    AdminID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    Name VARCHAR(190) NOT NULL,
    APIKeyHash CHAR(64) NOT NULL,
    CreatedAt DATETIME NOT NULL,
    UNIQUE KEY uq_admin_name (Name),
    UNIQUE KEY uq_admin_api_key (APIKeyHash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The moderation queue reads Approval Pending and Blocked domains, oldest first.
ALTER TABLE {p}sender_domains ADD KEY ix_status_created (Status, CreatedAt, DomainID);
