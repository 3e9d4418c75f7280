-- Administrators: the AdminAPIKey of the admin.* commands (Octeth's moderation of every user's
-- sender domains). Only the key's hash is kept, as for users.
CREATE TABLE IF NOT EXISTS {p}admins (
    AdminID INTEGER PRIMARY KEY AUTOINCREMENT,
    Name TEXT NOT NULL UNIQUE,
    APIKeyHash TEXT NOT NULL UNIQUE,
    CreatedAt TEXT NOT NULL
);

-- The moderation queue reads Approval Pending and Blocked domains, oldest first.
CREATE INDEX IF NOT EXISTS {p}ix_sender_domains_status_created ON {p}sender_domains (Status, CreatedAt, DomainID);
