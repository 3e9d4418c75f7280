-- Revision moves on every UPDATE of a sender domain, whoever makes it: the PHP product sharing this
-- database during a migration, an operator's SQL, an instance still on the previous release. The
-- service's own writes set it too (models/senderdomains.py save()); this trigger overrides their
-- value with the same one. A database user without the TRIGGER privilege cannot apply this file;
-- without it, rows changed outside the service show in cached lists within a minute.
CREATE TRIGGER {p}sender_domains_revision BEFORE UPDATE ON {p}sender_domains FOR EACH ROW SET NEW.Revision = OLD.Revision + 1;
