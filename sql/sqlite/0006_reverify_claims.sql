-- Background re-verification (`octeth-domains reverify`): which runner holds a domain, until when,
-- and when the domain was last probed in the background. Kept beside sender_domains rather than in
-- it, so that a claim is not a write of the user's row (no Revision change, no list refresh).
-- Times are milliseconds since 1970. A row appears the first time its domain is claimed.
CREATE TABLE IF NOT EXISTS {p}reverify_claims (
    DomainID INTEGER NOT NULL PRIMARY KEY,
    ClaimToken TEXT NULL,
    ClaimExpiresAt INTEGER NOT NULL DEFAULT 0,
    RunStartedAt INTEGER NOT NULL DEFAULT 0,
    LastProbedAt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS {p}ix_reverify_claims_expiry ON {p}reverify_claims (ClaimExpiresAt);

-- Runners read the Enabled domains in DomainID order, page after page.
CREATE INDEX IF NOT EXISTS {p}ix_sender_domains_status ON {p}sender_domains (Status);
