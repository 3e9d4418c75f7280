"""What happens to a sender domain: creation, changes, deletion, verification (SPEC §5).

The status rules live here, between the command handlers (which read parameters and shape the
seed's responses) and the SQL in :mod:`octeth_domains.models.senderdomains`. Every write that
depends on what is stored happens in one transaction holding the row (or the user's rows).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.name
from flask import current_app

from .. import hooks
from ..api.envelope import APIError
from ..db import Connection
from ..models import senderdomains as model
from ..models.senderdomains import APPROVAL_PENDING, BLOCKED, DELETED, DISABLED, ENABLED, PROTECTED
from ..models.users import User
from . import templates, verify

NOT_FOUND = (2, "Sender domain not found")
VERIFY_ALL_BATCH = 25
CACHE_TTL = 60


def not_found() -> APIError:
    return APIError(*NOT_FOUND)


# Rendering -------------------------------------------------------------------------------------

def _settings() -> templates.TemplateSettings:
    config = current_app.config
    return templates.TemplateSettings(
        secret_key=config["OCTETH_SECRET_KEY"],
        subdomain=config["EMAILCAMPAIGN_DNS_SUBDOMAIN"],
        track_prefix=config["EMAILCAMPAIGN_DNS_TRACK_PREFIX"],
        track_merge=config["EMAILCAMPAIGN_DNS_TRACK_MERGE"],
    )


def render(kind: str, template_name: str | None, domain: str, options: dict[str, Any]) -> dict[str, list]:
    """The records ``domain`` must publish under the named template of ``kind``."""
    template = current_app.extensions["octeth_templates"].get(kind, template_name)
    return templates.render(template, domain, options, _settings())


def _require_publishable(records: dict[str, list], error: APIError) -> None:
    """Refuse a record set DNS cannot hold (a label over 63 octets, a name over 255): it could be
    neither published nor ever verified."""
    for host in records:
        try:
            dns.name.from_text(host)
        except dns.exception.DNSException:
            raise error from None


def _dns_layout(options: dict[str, Any]) -> tuple[bool, str, str]:
    # What the records depend on, as rendering sees it: "SL" and "sl", or an absent flag and
    # False, are the same layout and must not regenerate (and demote) anything.
    config = current_app.config
    return (
        bool(options.get("TrackPrefixDisabled")),
        (options.get("CustomSubdomain") or config["EMAILCAMPAIGN_DNS_SUBDOMAIN"]).lower(),
        (options.get("CustomTrackPrefix") or config["EMAILCAMPAIGN_DNS_TRACK_PREFIX"]).lower(),
    )


def _status_for_new_records(records: dict[str, list], user: User, approved: bool) -> str:
    # Nothing to publish means nothing to verify: the domain is usable at once, unless the group
    # wants an operator's approval first, as a verified one would.
    if records:
        return APPROVAL_PENDING
    return BLOCKED if user.manual_approval and not approved else ENABLED


def _labels_too_long() -> APIError:
    return APIError(6, "Invalid CustomSubdomain or CustomTrackPrefix: the host names they make are too long for DNS")


def _fresh_meta(meta: Any, records: dict[str, list]) -> dict[str, Any]:
    # Other keys of VerificationMeta (an older release's, or a plugin's) are kept.
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta["DNSRecords"] = records
    return meta


# create / update / delete -----------------------------------------------------------------------

def create(db: Connection, user: User, domain: str, options: dict[str, Any]) -> int:
    """Register ``domain`` for ``user``, or revive the user's earlier row of that name.

    The limit check and the write happen under a lock on the user, so that parallel requests
    cannot each see room for one more domain.
    """
    with db.transaction(lock=True):
        model.lock_user(db, user.user_id)
        existing = model.find_pair(db, domain, user.user_id)
        counts_towards_limit = existing is None or existing["Status"] == DELETED
        if user.sender_domain_limit and counts_towards_limit:
            if model.count_active(db, user.user_id) >= user.sender_domain_limit:
                raise APIError(5, "Sender domain limit reached for your account", 403)
        records = render(templates.CAMPAIGN, user.dns_template, domain, options)
        custom = "CustomSubdomain" in options or "CustomTrackPrefix" in options
        _require_publishable(records, _labels_too_long() if custom else APIError(7, "Sender domain create process failed", 400))
        status = _status_for_new_records(records, user, bool(existing and existing["Approved"]))
        if existing is None:
            return model.insert(db, domain, user.user_id, status, {"DNSRecords": records}, options)
        if existing["Status"] in PROTECTED:
            status = existing["Status"]
        meta = _fresh_meta(model.decode(existing["VerificationMeta"]), records)
        model.save(db, existing["DomainID"], status=status, meta=meta, options=options, failed_checks=0)
        _forget_probe(existing)
        return int(existing["DomainID"])


@dataclass
class Update:
    switches: dict[str, int]  # LinkTracking, OpenTracking, UnsubscribeLink → 1/0
    labels: dict[str, str | None]  # CustomSubdomain, CustomTrackPrefix; None removes the override
    use_tracking_subdomain: bool | None
    status: str | None  # "Enabled" or "Disabled"


def update(db: Connection, user: User, domain_id: int | None, change: Update) -> tuple[int, bool]:
    """Apply a partial update; return (DomainID, whether the DNS records were regenerated).

    Every check happens before anything is written: a refused update changes nothing.
    """
    with db.transaction(lock=True):
        row = model.get_owned(db, domain_id, user.user_id, lock=True)
        if row is None:
            raise not_found()
        old_options = model.decode(row["Options"])
        options = dict(old_options) if isinstance(old_options, dict) else {}
        options.update(change.switches)
        for name, value in change.labels.items():
            if value is None:
                options.pop(name, None)
            else:
                options[name] = value
        if change.use_tracking_subdomain is not None:
            options["TrackPrefixDisabled"] = not change.use_tracking_subdomain
        options = model.ordered_options(options)

        regenerate = _dns_layout(options) != _dns_layout(old_options if isinstance(old_options, dict) else {})
        status = row["Status"]
        meta = model.decode(row["VerificationMeta"])
        records = model.records_of(row)
        if regenerate:
            records = render(templates.CAMPAIGN, user.dns_template, row["SenderDomain"], options)
            _require_publishable(records, _labels_too_long())
            meta = _fresh_meta(meta, records)
            if status not in PROTECTED:
                status = _status_for_new_records(records, user, bool(row["Approved"]))
        if change.status is not None:
            status = _toggled_status(status, change.status, records)
        model.save(db, row["DomainID"], status=status, meta=meta, options=options,
                   failed_checks=0 if regenerate else None)
    if regenerate:
        _forget_probe(row)
    return int(row["DomainID"]), regenerate


def _toggled_status(current: str, wanted: str, records: dict[str, list]) -> str:
    if current in PROTECTED:
        raise APIError(11, f"The status of a {current} sender domain can only be changed by an administrator")
    if wanted == current:
        return current
    if wanted == ENABLED:
        if not _last_probe_passed(records):
            raise APIError(10, "Sender domain cannot be enabled until its DNS records are verified")
        return ENABLED
    if current == APPROVAL_PENDING:
        raise APIError(12, "A sender domain awaiting DNS verification cannot be disabled")
    return DISABLED


def _last_probe_passed(records: dict[str, list]) -> bool:
    return all(len(record) > 2 and record[2] is True for record in records.values())


def delete(db: Connection, user: User, domain_id: int | None) -> None:
    """Soft-delete the user's domain, then tell the ``Delete.SenderDomain`` receivers."""
    with db.transaction(lock=True):
        row = model.get_owned(db, domain_id, user.user_id, lock=True)
        if row is None:
            raise not_found()
        if row["Status"] in PROTECTED:
            raise APIError(3, f"A {row['Status']} sender domain cannot be deleted", 422)
        model.save(db, row["DomainID"], status=DELETED)
    hooks.send(
        "Delete.SenderDomain",
        current_app._get_current_object(),
        DomainID=int(row["DomainID"]),
        UserID=int(row["RelUserID"]),
        SenderDomain=row["SenderDomain"],
    )


def set_status_by_operator(db: Connection, domain_id: int, status: str) -> dict[str, Any] | None:
    """The operator's override (``octeth-domains domain status``). Enabling remembers the approval,
    so that a group's manual-approval rule does not block the domain again at the next verify."""
    with db.transaction(lock=True):
        row = model.get_by_id(db, domain_id)
        if row is None:
            return None
        model.save(db, domain_id, status=status, approved=True if status == ENABLED else None, failed_checks=0)
    return model.get_by_id(db, domain_id)


# verification -----------------------------------------------------------------------------------

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


def _cache() -> verify.VerificationCache:
    return current_app.extensions["octeth_verify_cache"]


def _forget_probe(row: dict[str, Any]) -> None:
    # The cache key holds the record set, so a regenerated set could never read the old entry;
    # dropping it anyway keeps the cache from answering for a layout that no longer exists.
    _cache().delete(verify.cache_key(int(row["DomainID"]), model.records_of(row)))


def probe(domain_id: int, records: dict[str, list], use_cache: bool = True,
          pool: ThreadPoolExecutor | None = None) -> Outcome:
    """Look ``records`` up live (on ``pool``'s threads when given), or reuse an outcome of the last
    60 seconds for the same set."""
    if not records:
        return Outcome({})
    key = verify.cache_key(domain_id, records)
    cache = _cache()
    if use_cache:
        cached = cache.get(key)
        if isinstance(cached, dict) and set(cached) == set(records):
            return Outcome({host: (bool(pair[0]), bool(pair[1])) for host, pair in cached.items()})
    config = current_app.config
    found = verify.probe(records, config["OCTETH_DNS_SERVERS"], config["OCTETH_DNS_TIMEOUT"], pool=pool)
    outcome = Outcome({host: (result.passed, result.definite) for host, result in found.items()})
    cache.set(key, {host: list(pair) for host, pair in outcome.results.items()}, ttl=CACHE_TTL)
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


def _record_set(records: dict[str, list]) -> set[tuple[str, str, str]]:
    return {(host, str(record[0]), str(record[1])) for host, record in records.items()}


@dataclass(frozen=True)
class _Merge:
    status: str
    failed_checks: int
    stored: dict[str, list]  # the records with the flags to keep
    shown: dict[str, list]  # the records with this probe's flags
    changed: bool


def _merge(row: dict[str, Any] | None, checked: dict[str, list], outcome: Outcome, manual_approval: bool,
           background: bool) -> _Merge | None:
    """What ``outcome`` makes of ``row``; None when it says nothing about it (see record_outcome)."""
    records = model.records_of(row) if row else {}
    if row is None or _record_set(records) != _record_set(checked):
        return None
    shown = {host: [*record[:2], outcome.results.get(host, (False, False))[0]] for host, record in records.items()}
    stored = {}
    for host, record in records.items():
        passed, definite = outcome.results.get(host, (False, False))
        stored[host] = [*record[:2], passed] if definite else list(record)
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


def record_outcome(db: Connection, row: dict[str, Any], checked: dict[str, list], outcome: Outcome,
                   manual_approval: bool, background: bool = False) -> tuple[dict[str, Any], dict[str, list]] | None:
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
            meta = _fresh_meta(model.decode(row["VerificationMeta"]), merge.stored)
            model.save(db, domain_id, status=merge.status, meta=meta, failed_checks=merge.failed_checks)
            row = {**row, "Status": merge.status, "VerificationMeta": model.encode(meta),
                   "FailedChecks": merge.failed_checks}
    return row, merge.shown


def verify_domain(db: Connection, user: User, domain_id: int | None) -> dict[str, Any]:
    """Probe one of the user's domains and persist the outcome; the seed's verify response.

    If an update regenerates the records while the lookups run, the new set is probed instead:
    an answer about records that are no longer the domain's would be a wrong answer.
    """
    for _ in range(3):
        row = model.get_owned(db, domain_id, user.user_id)
        if row is None:
            raise not_found()
        checked = model.records_of(row)
        outcome = probe(int(row["DomainID"]), checked)
        result = record_outcome(db, row, checked, outcome, user.manual_approval)
        if result is not None:
            stored, shown = result
            return {"DomainID": int(stored["DomainID"]), "IsVerified": outcome.passed, "Status": stored["Status"],
                    "DNSRecords": shown}
    raise APIError(14, "The DNS records of this sender domain keep changing; verify again")


def verify_pending(db: Connection, user: User) -> dict[str, Any]:
    """``verifyall``: up to 25 of the user's Approval Pending domains, probed side by side."""
    rows = model.pending_for_user(db, user.user_id, VERIFY_ALL_BATCH + 1)
    truncated = len(rows) > VERIFY_ALL_BATCH
    rows = rows[:VERIFY_ALL_BATCH]
    outcomes = _probe_many(rows, use_cache=True)
    domains = []
    for row, outcome in zip(rows, outcomes):
        result = record_outcome(db, row, model.records_of(row), outcome, user.manual_approval)
        if result is None:  # changed or deleted meanwhile: reported as not verified, nothing written
            domains.append({"DomainID": int(row["DomainID"]), "IsVerified": False, "Status": row["Status"]})
            continue
        domains.append({"DomainID": int(row["DomainID"]), "IsVerified": outcome.passed, "Status": result[0]["Status"]})
    verified = sum(1 for domain in domains if domain["IsVerified"])
    return {"Verified": verified, "Failed": len(domains) - verified, "Truncated": truncated, "Domains": domains}


def _probe_many(rows: list[dict[str, Any]], use_cache: bool, workers: int = 8) -> list[Outcome]:
    # Probing happens outside any transaction and in threads of its own: the lookups wait on the
    # network, and the database must not wait with them. The app context travels with each task.
    app = current_app._get_current_object()

    def one(row: dict[str, Any]) -> Outcome:
        with app.app_context():
            return probe(int(row["DomainID"]), model.records_of(row), use_cache)

    if not rows:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(rows))) as pool:
        return list(pool.map(one, rows))

