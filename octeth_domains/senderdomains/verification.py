"""Verification of a sender domain's DNS records: the probe, its outcome, how the outcome merges
into the stored row, and the three ways to run it: one domain, ``verifyall``, ``reverify``
(SPEC §5 verify, background re-verification).

Nothing here knows about HTTP or Flask: the settings come in as a :class:`DomainSettings`, and
refusals are :class:`~.errors.DomainError`.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from ..db import Connection
from ..models import senderdomains as model
from ..models.senderdomains import APPROVAL_PENDING, BLOCKED, DELETED, DISABLED, ENABLED, PROTECTED
from ..models.users import User
from . import dnsrecords, verify
from .dnsrecords import Records, StoredRecord
from .errors import DomainError, not_found
from .settings import DomainSettings

VERIFY_ALL_BATCH = 25
CACHE_TTL = 60


@dataclass(frozen=True)
class Outcome:
    """A probe of one domain's records: ``{host: (passed, definite)}``."""

    results: dict[str, tuple[bool, bool]]

    @property
    def passed(self) -> bool:
        return all(passed for passed, _ in self.results.values())

    @property
    def failed_definitely(self) -> bool:
        return any(definite and not passed for passed, definite in self.results.values())

    def result(self, host: str) -> tuple[bool, bool]:
        return self.results.get(host, (False, False))


def stored_records(row: dict[str, Any] | None) -> Records:
    return dnsrecords.from_json(model.records_of(row)) if row else {}


def forget_probe(settings: DomainSettings, row: dict[str, Any]) -> None:
    # The cache key holds the record set, so a regenerated set could never read the old entry;
    # dropping it anyway keeps the cache from answering for a layout that no longer exists.
    settings.cache.delete(verify.cache_key(int(row["DomainID"]), model.records_of(row)))


def probe(settings: DomainSettings, domain_id: int, records: Records, use_cache: bool = True) -> Outcome:
    """Look ``records`` up live, or reuse an outcome of the last 60 seconds for the same set."""
    if not records:
        return Outcome({})
    as_json = dnsrecords.to_json(records)
    key = verify.cache_key(domain_id, as_json)
    if use_cache:
        cached = settings.cache.get(key)
        if isinstance(cached, dict) and set(cached) == set(records):
            return Outcome({host: (bool(pair[0]), bool(pair[1])) for host, pair in cached.items()})
    found = verify.probe(as_json, settings.dns_servers, settings.dns_timeout)
    outcome = Outcome({host: (result.passed, result.definite) for host, result in found.items()})
    settings.cache.set(key, {host: list(pair) for host, pair in outcome.results.items()}, ttl=CACHE_TTL)
    return outcome


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

    Only definite answers change a stored flag. When the outcome changes nothing in ``row`` nothing
    is written, and no lock is taken: most verifies of a working domain end there. Otherwise the
    row is read again under a lock and the merge redone on what is stored now.
    ``background`` is ``reverify``'s rule: it acts on Enabled domains only, and a definite failure
    demotes at the third run in a row.
    """
    merge = _merge(row, checked, outcome, manual_approval, background)
    if merge is not None and not merge.changed:
        return row, merge.shown
    domain_id = int(row["DomainID"])
    with db.transaction(lock=True):
        row = model.get_by_id(db, domain_id, lock=True)
        merge = _merge(row, checked, outcome, manual_approval, background)
        if merge is None:
            return None
        if merge.changed:
            meta = model.decode(row["VerificationMeta"])
            meta = dict(meta) if isinstance(meta, dict) else {}
            meta["DNSRecords"] = dnsrecords.to_json(merge.stored)
            model.save(db, domain_id, status=merge.status, meta=meta, failed_checks=merge.failed_checks)
            row = {**row, "Status": merge.status, "VerificationMeta": model.encode(meta),
                   "FailedChecks": merge.failed_checks}
    return row, merge.shown


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
        outcome = probe(settings, int(row["DomainID"]), checked)
        result = record_outcome(db, row, checked, outcome, user.manual_approval)
        if result is not None:
            stored, shown = result
            return {"DomainID": int(stored["DomainID"]), "IsVerified": outcome.passed, "Status": stored["Status"],
                    "DNSRecords": dnsrecords.to_json(shown)}
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
            domains.append({"DomainID": int(row["DomainID"]), "IsVerified": False, "Status": row["Status"]})
            continue
        domains.append({"DomainID": int(row["DomainID"]), "IsVerified": outcome.passed, "Status": result[0]["Status"]})
    verified = sum(1 for domain in domains if domain["IsVerified"])
    return {"Verified": verified, "Failed": len(domains) - verified, "Truncated": truncated, "Domains": domains}


def _probe_many(settings: DomainSettings, rows: list[dict[str, Any]], use_cache: bool,
                workers: int = 8) -> list[Outcome]:
    # Probing happens outside any transaction and in threads of its own: the lookups wait on the
    # network, and the database must not wait with them.
    def one(row: dict[str, Any]) -> Outcome:
        return probe(settings, int(row["DomainID"]), stored_records(row), use_cache)

    if not rows:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(rows))) as pool:
        return list(pool.map(one, rows))


@dataclass
class ReverifySummary:
    checked: int = 0
    passed: int = 0
    failed: int = 0
    inconclusive: int = 0
    demoted: int = 0

    def line(self) -> str:
        return (f"reverify: {self.checked} checked, {self.passed} passed, {self.failed} failed, "
                f"{self.inconclusive} inconclusive, {self.demoted} demoted")


def reverify(db: Connection, settings: DomainSettings, concurrency: int = 8,
             advance: Callable[[int], Any] = lambda done: None) -> ReverifySummary:
    """Re-probe every Enabled domain afresh (the cache is refreshed, not read). Three definite
    failures in a row send a domain back to Approval Pending; transient ones do not count.
    ``advance`` is told how many domains each batch finished, for a progress bar."""
    summary = ReverifySummary()
    rows = model.enabled_domains(db)
    batch = max(1, concurrency) * 4
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        for row, outcome in zip(chunk, _probe_many(settings, chunk, use_cache=False, workers=concurrency)):
            result = record_outcome(db, row, stored_records(row), outcome, manual_approval=False, background=True)
            if result is None:
                continue  # no longer Enabled, or regenerated, since the run began
            stored = result[0]
            summary.checked += 1
            if outcome.passed:
                summary.passed += 1
            elif outcome.failed_definitely:
                summary.failed += 1
            else:
                summary.inconclusive += 1
            if stored["Status"] != row["Status"]:
                summary.demoted += 1
        advance(len(chunk))
    return summary
