-- Background re-verification (`octeth-domains reverify`): which runner holds a domain, until when,
-- and when the domain was last probed in the background. Kept beside sender_domains rather than in
-- it, so that a claim is not a write of the user's row (no Revision change, no list refresh).
-- Times are milliseconds since 1970 on the database's clock, so runners on machines whose clocks
-- differ agree on them. A row appears the first time its domain is claimed.
CREATE TABLE IF NOT EXISTS {p}reverify_claims (
    DomainID INT UNSIGNED NOT NULL PRIMARY KEY,
    -- The batch that holds the claim; NULL once its probe is recorded.
    ClaimToken CHAR(32) NULL,
    -- When another runner may take the claim over; 0 when nobody holds it.
    ClaimExpiresAt BIGINT NOT NULL DEFAULT 0,
    -- The start of the run that holds (or last held) the claim: a runner started while a run is
    -- going joins that run instead of probing again what the run has done.
    RunStartedAt BIGINT NOT NULL DEFAULT 0,
    -- When the last background probe was recorded; --interval counts from it.
    LastProbedAt BIGINT NOT NULL DEFAULT 0,
    KEY ix_claim_expiry (ClaimExpiresAt)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- Runners read the Enabled domains in DomainID order, page after page.
ALTER TABLE {p}sender_domains ADD KEY ix_status (Status);
