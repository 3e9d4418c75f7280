-- The domain health of the last probe that checked it, in a column of its own: reverify probes
-- the records and leaves the health the user's last verify found (NULL: look in Probe, where
-- releases before this one kept it).
ALTER TABLE {p}sender_domain_probes ADD COLUMN Health TEXT NULL;
