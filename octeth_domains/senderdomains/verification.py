"""Verification of a sender domain's DNS records: the probe, its outcome, how the outcome merges
into the stored row, and the three ways to run it: one domain, ``verifyall``, ``reverify``
(SPEC §5 verify, background re-verification).

Nothing here knows about HTTP or Flask: the settings come in as a :class:`DomainSettings`, and
refusals are :class:`~.errors.DomainError`.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..db import Connection
from ..models import senderdomains as model
from ..models.senderdomains import APPROVAL_PENDING, BLOCKED, DELETED, DISABLED, ENABLED, PROTECTED
from ..models.users import User
from . import dnsrecords, domainhealth, hints, verify
from .dnsrecords import Records, StoredRecord
from .errors import DomainError, not_found
from .settings import DomainSettings

VERIFY_ALL_BATCH = 25
CACHE_TTL = 60


@dataclass(frozen=True)
class Check:
    """What one probe found of one record (SPEC §10 diagnostics)."""

    passed: bool
    definite: bool  # a pass, or a server saying the record is absent or different
    reason: str
    found: list[str] | None
    hint: str | None
    source: str  # "authoritative" or "resolver"

    def as_json(self) -> list:
        return [self.passed, self.definite, self.reason, self.found, self.hint, self.source]

    @classmethod
    def from_json(cls, item: Any) -> "Check":
        passed, definite, reason, found, hint, source = item
        return cls(bool(passed), bool(definite), str(reason), found, hint, str(source))


NOT_PROBED = Check(False, False, "unchecked", None, None, "resolver")


@dataclass(frozen=True)
class Outcome:
    """A probe of one domain's records, ``{host: Check}``, and the domain's health."""

    checks: dict[str, Check]
    checked_at: str = ""
    health: dict[str, Any] | None = None
    fresh: bool = True  # looked up now, not read from the cache

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks.values())

    @property
    def failed_definitely(self) -> bool:
        return any(check.definite and not check.passed for check in self.checks.values())

    def result(self, host: str) -> tuple[bool, bool]:
        check = self.checks.get(host, NOT_PROBED)
        return check.passed, check.definite

    def reasons(self) -> dict[str, str]:
        return {host: check.reason for host, check in self.checks.items()}

    def diagnostics(self, records: Records) -> dict[str, dict[str, Any]]:
        """SPEC §10's ``Diagnostics``: one entry per record."""
        return {host: diagnostic(record, self.checks.get(host, NOT_PROBED), self.checked_at)
                for host, record in records.items()}

    def to_cache(self) -> dict[str, Any]:
        return {"Checks": {host: check.as_json() for host, check in self.checks.items()},
                "CheckedAt": self.checked_at, "Health": self.health}

    @classmethod
    def from_cache(cls, value: Any, records: Records) -> "Outcome | None":
        try:
            checks = {host: Check.from_json(item) for host, item in value["Checks"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # an entry of an older release: probe again
        if set(checks) != set(records):
            return None
        return cls(checks, str(value.get("CheckedAt") or ""), value.get("Health"), fresh=False)


def diagnostic(record: StoredRecord, check: Check, checked_at: str | None) -> dict[str, Any]:
    unchecked = check.reason == "unchecked"
    return {"Type": record.type, "Expected": record.value, "Found": None if unchecked else list(check.found or []),
            "Reason": check.reason, "Hint": hints.UNCHECKED if unchecked else check.hint, "Source": None if unchecked else check.source,
            "CheckedAt": None if unchecked else checked_at}


def stored_records(row: dict[str, Any] | None) -> Records:
    return dnsrecords.from_json(model.records_of(row)) if row else {}


def forget_probe(settings: DomainSettings, row: dict[str, Any]) -> None:
    # The cache key holds the record set, so a regenerated set could never read the old entry;
    # dropping it anyway keeps the cache from answering for a layout that no longer exists.
    settings.cache.delete(verify.cache_key(int(row["DomainID"]), model.records_of(row)))


def probe(settings: DomainSettings, domain_id: int, records: Records, use_cache: bool = True,
          domain: str | None = None) -> Outcome:
    """Look ``records`` up live, or reuse an outcome of the last 60 seconds for the same set;
    with ``domain``, its health too (SPEC §10)."""
    if not records:
        return Outcome({}, model.now())
    as_json = dnsrecords.to_json(records)
    key = verify.cache_key(domain_id, as_json)
    # Health is cached apart from the record probe, and longer (OCTETH_DNS_HEALTH_CACHE_TTL): it
    # is advice that changes rarely, and its lookups outnumber the records' own.
    health_key = _health_key(domain) if domain and settings.health_cache_ttl > 0 else None
    wanted = [name for name in (key if use_cache else None, health_key) if name]
    found_in_cache = dict(zip(wanted, settings.cache.get_many(wanted) if wanted else []))
    cached, health = found_in_cache.get(key), found_in_cache.get(health_key)
    if use_cache:
        outcome = Outcome.from_cache(cached, records) if isinstance(cached, dict) else None
        if outcome is not None:
            return outcome
    checked_at = model.now()
    if not (isinstance(health, dict) and set(health) == {"DMARC", "SPF"}):
        health = None
    checks_health = bool(domain) and health is None
    started = time.monotonic()

    async def lookups() -> tuple[Any, Any]:
        # The records and checkdmarc's first lookups side by side, on this thread's loop.
        records_found = _look_up(settings, as_json, domain)
        if not checks_health:
            return await records_found, None

        async def health_started() -> Any:
            # The checks start on the pool as soon as their answers are in, while the records may
            # still be waiting on a slow server.
            answers = await domainhealth.prefetch(domain, settings.dns_servers, settings.dns_timeout,
                                                  settings.health_parents)
            return domainhealth.start(domain, settings.dns_servers, settings.dns_timeout, answers)

        health = asyncio.ensure_future(health_started())
        try:
            return await records_found, await health
        except BaseException:
            health.cancel()  # a record type that cannot be checked: the checks are not wanted either
            raise

    found, pending = verify.run_async(lookups())
    health_to_keep = []
    if checks_health:
        # What is left of the lookup timeout, and at least a quarter of it: an SPF include asked
        # live still gets a chance after records that took it all.
        left = settings.dns_timeout - (time.monotonic() - started)
        health = domainhealth.finish(pending, max(left, settings.dns_timeout / 4))
        if health_key and domainhealth.answered(health):
            health_to_keep.append((health_key, health, settings.health_cache_ttl))
    outcome = Outcome(_checks(found), checked_at, health)
    settings.cache.set_many([(key, outcome.to_cache(), CACHE_TTL), *health_to_keep])
    return outcome


async def probe_records(settings: DomainSettings, records: Records, domain: str) -> Outcome:
    """``reverify``'s probe: the records of ``domain`` looked up afresh, on the running event loop,
    and nothing else. The 60-second cache is neither read nor filled (a run over a million domains
    would fill it with what nobody asks for), and the health is left as the user's last verify
    found it (model.save_probes keeps it): its lookups outnumber the records' own."""
    checked_at = model.now()
    return Outcome(_checks(await _look_up(settings, dnsrecords.to_json(records), domain)), checked_at)


async def _look_up(settings: DomainSettings, records: dict[str, list], domain: str | None
                   ) -> dict[str, verify.RecordOutcome]:
    return await verify.probe_async(records, settings.dns_servers, settings.dns_timeout,
                                    authoritative=settings.authoritative, port=settings.authoritative_port,
                                    zones=settings.zones, domain=domain)


def _checks(found: dict[str, verify.RecordOutcome]) -> dict[str, Check]:
    return {host: Check(result.passed, result.definite, result.reason, list(result.found), result.hint, result.source)
            for host, result in found.items()}


def _health_key(domain: str) -> str:
    return "health:" + domain.rstrip(".").lower()


def status_after(current: str, outcome: Outcome, manual_approval: bool, approved: bool) -> str:
    """The status a probe leads to. Only a definite failure demotes; an administrator's status and
    the user's own Disabled are kept whatever the outcome."""
    if current in (DISABLED, *PROTECTED, DELETED):
        return current
    if outcome.passed:
        return BLOCKED if manual_approval and not approved else ENABLED
    if outcome.failed_definitely:
        return APPROVAL_PENDING
    return current


@dataclass(frozen=True)
class _Merge:
    status: str
    failed_checks: int
    stored: Records  # the records with the flags to keep
    shown: Records  # the records with this probe's flags
    changed: bool


def _merge(row: dict[str, Any] | None, checked: Records, outcome: Outcome, manual_approval: bool,
           background: bool) -> _Merge | None:
    """What ``outcome`` makes of ``row``; None when it says nothing about it (see record_outcome)."""
    records = stored_records(row)
    if row is None or not dnsrecords.same_set(records, checked):
        return None
    shown = {host: record.flagged(outcome.result(host)[0]) for host, record in records.items()}
    stored = {}
    for host, record in records.items():
        passed, definite = outcome.result(host)
        stored[host] = record.flagged(passed) if definite else record
    current, failed_checks = row["Status"], int(row["FailedChecks"])
    if background:
        if current != ENABLED:  # the user or an operator changed it since the run began
            return None
        status = ENABLED
        if outcome.passed:
            failed_checks = 0
        elif outcome.failed_definitely:
            failed_checks += 1
            if failed_checks >= 3:
                status, failed_checks = APPROVAL_PENDING, 0
    else:
        status = status_after(current, outcome, manual_approval, bool(row["Approved"]))
        if outcome.passed:
            failed_checks = 0
    changed = stored != records or status != current or failed_checks != int(row["FailedChecks"])
    return _Merge(status, failed_checks, stored, shown, changed)


def record_outcome(db: Connection, row: dict[str, Any], checked: Records, outcome: Outcome,
                   manual_approval: bool, background: bool = False) -> tuple[dict[str, Any], Records] | None:
    """Merge the ``outcome`` of probing ``checked`` (the records of ``row`` as read before the probe)
    into the stored row; return (row as now stored, records with this probe's flags), or None when
    the stored records are no longer the ones probed (an update regenerated them meanwhile: the
    outcome says nothing of them).

    Only definite answers change a stored flag. When the outcome changes nothing else in ``row``,
    only ``LastVerifiedAt`` is written, without a lock: most verifies of a working domain end
    there. Otherwise the row is read again under a lock and the merge redone on what is stored
    now. A fresh probe's diagnostics and health are kept (model.save_probes) for ``dns``.
    ``background`` is ``reverify``'s rule: it acts on Enabled domains only, and a definite failure
    demotes at the third run in a row.
    """
    merge = _merge(row, checked, outcome, manual_approval, background)
    domain_id = int(row["DomainID"])
    now = model.now()
    if merge is not None and not merge.changed:
        # The version of cached lists moves with it (Revision), so list shows the new time.
        model.save(db, domain_id, last_verified_at=now)
        _keep_probe(db, domain_id, checked, outcome)
        return {**row, "LastVerifiedAt": now}, merge.shown
    with db.transaction(lock=True):
        row = model.get_by_id(db, domain_id, lock=True)
        merge = _merge(row, checked, outcome, manual_approval, background)
        if merge is None:
            return None
        meta = None
        if merge.changed:
            meta = model.with_records(model.decode(row["VerificationMeta"]), dnsrecords.to_json(merge.stored))
        model.save(db, domain_id, status=merge.status if merge.changed else None, meta=meta,
                   failed_checks=merge.failed_checks if merge.changed else None, last_verified_at=now)
        _keep_probe(db, domain_id, checked, outcome)
        row = {**row, "LastVerifiedAt": now}
        if merge.changed:
            row.update({"Status": merge.status, "VerificationMeta": model.encode(meta),
                        "FailedChecks": merge.failed_checks})
    return row, merge.shown


def _keep_probe(db: Connection, domain_id: int, checked: Records, outcome: Outcome) -> None:
    model.save_probes(db, _probe_to_keep(domain_id, checked, outcome))


def _probe_to_keep(domain_id: int, checked: Records, outcome: Outcome) -> list[tuple[int, str, dict, dict | None]]:
    # A cached outcome is the probe already kept; only a fresh one is written.
    if outcome.fresh and checked:
        # A health that DNS did not answer leaves the last answered one in place.
        health = outcome.health if outcome.health and domainhealth.answered(outcome.health) else None
        return [(domain_id, outcome.checked_at, outcome.diagnostics(checked), health)]
    return []


def record_background(db: Connection, probed: list[tuple[dict[str, Any], Outcome]]) -> list[dict[str, Any] | None]:
    """``reverify``'s :func:`record_outcome` for many domains at once, inside the caller's
    transaction: for each ``(row as claimed, outcome)`` the row as now stored, or None when the
    outcome says nothing about it any more. The rows the outcome leaves as they were (most of a
    run's: an Enabled domain whose records still pass) are written together, in two statements
    for them all; the others one by one, as a user's verify would."""
    now = model.now()
    stored: list[dict[str, Any] | None] = []
    unchanged: list[int] = []
    probes: list[tuple[int, str, dict, dict | None]] = []
    for row, outcome in probed:
        checked = stored_records(row)
        merge = _merge(row, checked, outcome, False, True)
        if merge is None:
            stored.append(None)
        elif merge.changed:
            result = record_outcome(db, row, checked, outcome, manual_approval=False, background=True)
            stored.append(None if result is None else result[0])
        else:
            domain_id = int(row["DomainID"])
            unchanged.append(domain_id)
            probes.extend(_probe_to_keep(domain_id, checked, outcome))
            stored.append({**row, "LastVerifiedAt": now})
    model.mark_verified(db, unchanged, now)
    model.save_probes(db, probes)
    return stored


def last_diagnostics(db: Connection, domain_id: int, records: Records) -> tuple[dict[str, Any], Any]:
    """``dns``'s view of the last stored probe: (Diagnostics, Health). A record the probe did not
    look up as it is now (never probed, or regenerated since) is ``unchecked``."""
    kept = model.last_probe(db, domain_id) or {}
    entries = kept.get("Diagnostics") if isinstance(kept.get("Diagnostics"), dict) else {}
    diagnostics = {}
    for host, record in records.items():
        entry = entries.get(host)
        if isinstance(entry, dict) and (entry.get("Type"), entry.get("Expected")) == record.identity:
            diagnostics[host] = entry
        else:
            diagnostics[host] = diagnostic(record, NOT_PROBED, None)
    return diagnostics, kept.get("Health")


def verify_domain(db: Connection, settings: DomainSettings, user: User, domain_id: int | None) -> dict[str, Any]:
    """Probe one of the user's domains and persist the outcome; the seed's verify response.

    If an update regenerates the records while the lookups run, the new set is probed instead:
    an answer about records that are no longer the domain's would be a wrong answer.
    """
    for _ in range(3):
        row = model.get_owned(db, domain_id, user.user_id)
        if row is None:
            raise not_found()
        checked = stored_records(row)
        outcome = probe(settings, int(row["DomainID"]), checked, domain=row["SenderDomain"])
        result = record_outcome(db, row, checked, outcome, user.manual_approval)
        if result is not None:
            stored, shown = result
            return {"DomainID": int(stored["DomainID"]), "IsVerified": outcome.passed, "Status": stored["Status"],
                    "DNSRecords": dnsrecords.to_json(shown), "Diagnostics": outcome.diagnostics(checked),
                    "Health": outcome.health}
    raise DomainError(14, "The DNS records of this sender domain keep changing; verify again")


def verify_pending(db: Connection, settings: DomainSettings, user: User) -> dict[str, Any]:
    """``verifyall``: up to 25 of the user's Approval Pending domains, probed side by side."""
    rows = model.pending_for_user(db, user.user_id, VERIFY_ALL_BATCH + 1)
    truncated = len(rows) > VERIFY_ALL_BATCH
    rows = rows[:VERIFY_ALL_BATCH]
    outcomes = _probe_many(settings, rows, use_cache=True)
    domains = []
    for row, outcome in zip(rows, outcomes):
        result = record_outcome(db, row, stored_records(row), outcome, user.manual_approval)
        if result is None:  # changed or deleted meanwhile: reported as not verified, nothing written
            domains.append({"DomainID": int(row["DomainID"]), "IsVerified": False, "Status": row["Status"],
                            "Reasons": {}})
            continue
        domains.append({"DomainID": int(row["DomainID"]), "IsVerified": outcome.passed, "Status": result[0]["Status"],
                        "Reasons": outcome.reasons()})
    verified = sum(1 for domain in domains if domain["IsVerified"])
    return {"Verified": verified, "Failed": len(domains) - verified, "Truncated": truncated, "Domains": domains}


def _probe_many(settings: DomainSettings, rows: list[dict[str, Any]], use_cache: bool,
                workers: int = 8) -> list[Outcome]:
    # Probing happens outside any transaction and in threads of its own: the lookups wait on the
    # network, and the database must not wait with them.
    def one(row: dict[str, Any]) -> Outcome:
        return probe(settings, int(row["DomainID"]), stored_records(row), use_cache, domain=row["SenderDomain"])

    if not rows:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(rows))) as pool:
        return list(pool.map(one, rows))
