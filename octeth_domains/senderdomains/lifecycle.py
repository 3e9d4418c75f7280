"""A sender domain's life: creation, changes, deletion, an operator's status (SPEC §5).

The status rules live here, between the command handlers (which read parameters, shape the seed's
responses and choose HTTP statuses) and the SQL in :mod:`octeth_domains.models.senderdomains`.
Every write that depends on what is stored happens in one transaction holding the row (or the
user's rows). Refusals are :class:`~.errors.DomainError`; nothing here knows about HTTP or Flask.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.name

from ..db import Connection
from ..models import senderdomains as model
from ..models.senderdomains import APPROVAL_PENDING, BLOCKED, DELETED, DISABLED, ENABLED, PROTECTED, SUSPENDED
from ..models.users import User
from . import dnsrecords, templates
from .errors import DomainError, not_found
from .settings import DomainSettings
from .verification import forget_probe

CREATE_FAILED = (7, "Sender domain create process failed")
LIMIT_REACHED = (5, "Sender domain limit reached for your account")


def _unpublishable(records: dict[str, list]) -> str | None:
    """The first host of a record set DNS cannot hold (a label over 63 octets, a name over 255),
    which could be neither published nor ever verified; None when every one fits."""
    for host in records:
        try:
            dns.name.from_text(host)
        except dns.exception.DNSException:
            return host
    return None


def _names_too_long(host: str) -> DomainError:
    shown = host.rstrip(".")
    return DomainError(*CREATE_FAILED, reason=(
        f"the records this domain needs have names too long for DNS ({shown[:40]}… is {len(shown)} characters;"
        " DNS allows 253 in all and 63 per label); a shorter domain name is needed"))


def _dns_layout(settings: DomainSettings, options: dict[str, Any]) -> tuple[bool, str, str]:
    # What the records depend on, as rendering sees it: "SL" and "sl", or an absent flag and
    # False, are the same layout and must not regenerate (and demote) anything.
    options = model.readable_options(options)
    return (
        bool(options.get("TrackPrefixDisabled")),
        (options.get("CustomSubdomain") or settings.subdomain).lower(),
        (options.get("CustomTrackPrefix") or settings.track_prefix).lower(),
    )


def _status_for_new_records(records: dict[str, list], user: User, approved: bool) -> str:
    # Nothing to publish means nothing to verify: the domain is usable at once, unless the group
    # wants an operator's approval first, as a verified one would.
    if records:
        return APPROVAL_PENDING
    return BLOCKED if user.manual_approval and not approved else ENABLED


def _labels_too_long() -> DomainError:
    return DomainError(6, "Invalid CustomSubdomain or CustomTrackPrefix: the host names they make are too long for DNS")


def fresh_meta(meta: Any, records: dict[str, list]) -> dict[str, Any]:
    # Other keys of VerificationMeta (an older release's, or a plugin's) are kept.
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta["DNSRecords"] = records
    return meta


def create(db: Connection, settings: DomainSettings, user: User, domain: str, options: dict[str, Any]) -> int:
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
                raise DomainError(*LIMIT_REACHED)
        records = settings.render(templates.CAMPAIGN, user.dns_template, domain, options)
        too_long = _unpublishable(records)
        if too_long is not None:
            custom = "CustomSubdomain" in options or "CustomTrackPrefix" in options
            raise _labels_too_long() if custom else _names_too_long(too_long)
        status = _status_for_new_records(records, user, bool(existing and existing["Approved"]))
        if existing is None:
            return model.insert(db, domain, user.user_id, status, {"DNSRecords": records}, options)
        if existing["Status"] in PROTECTED:
            status = existing["Status"]
        meta = fresh_meta(model.decode(existing["VerificationMeta"]), records)
        model.save(db, existing["DomainID"], status=status, meta=meta, options=options, failed_checks=0)
        forget_probe(settings, existing)
        return int(existing["DomainID"])


@dataclass
class Update:
    switches: dict[str, int]  # LinkTracking, OpenTracking, UnsubscribeLink → 1/0
    labels: dict[str, str | None]  # CustomSubdomain, CustomTrackPrefix; None removes the override
    use_tracking_subdomain: bool | None
    status: str | None  # "Enabled" or "Disabled"


def update(db: Connection, settings: DomainSettings, user: User, domain_id: int | None,
           change: Update) -> tuple[int, bool]:
    """Apply a partial update; return (DomainID, whether the DNS records were regenerated).

    Every check happens before anything is written: a refused update changes nothing.
    """
    with db.transaction(lock=True):
        row = model.get_owned(db, domain_id, user.user_id, lock=True)
        if row is None:
            raise not_found()
        # Built on the options as stored, a label the service cannot read included (it stays,
        # and means the default); rendering reads them through readable_options.
        old_options = model.decode(row["Options"])
        old_options = old_options if isinstance(old_options, dict) else {}
        options = dict(old_options)
        options.update(change.switches)
        for name, value in change.labels.items():
            if value is None:
                options.pop(name, None)
            else:
                options[name] = value
        if change.use_tracking_subdomain is not None:
            options["TrackPrefixDisabled"] = not change.use_tracking_subdomain
        options = model.ordered_options(options)

        regenerate = _dns_layout(settings, options) != _dns_layout(settings, old_options)
        status = row["Status"]
        meta = model.decode(row["VerificationMeta"])
        records = model.records_of(row)
        if regenerate:
            records = settings.render(templates.CAMPAIGN, user.dns_template, row["SenderDomain"],
                                      model.readable_options(options))
            if _unpublishable(records) is not None:
                raise _labels_too_long()
            meta = fresh_meta(meta, records)
            if status not in PROTECTED:
                status = _status_for_new_records(records, user, bool(row["Approved"]))
        if change.status is not None:
            status = _toggled_status(status, change.status, dnsrecords.from_json(records))
        model.save(db, row["DomainID"], status=status, meta=meta, options=options,
                   failed_checks=0 if regenerate else None)
    if regenerate:
        forget_probe(settings, row)
    return int(row["DomainID"]), regenerate


def _toggled_status(current: str, wanted: str, records: dnsrecords.Records) -> str:
    if current in PROTECTED:
        raise DomainError(11, "The domain is Suspended or Blocked by an administrator; only an administrator can change its status")
    if wanted == current:
        return current
    if wanted == ENABLED:
        if not all(record.verified is True for record in records.values()):
            raise DomainError(10, "Cannot enable an unverified domain: run user.senderdomain.verify first")
        return ENABLED
    if current == APPROVAL_PENDING:
        raise DomainError(12, "Cannot disable an unverified (Approval Pending) domain: run user.senderdomain.verify first, or delete the domain")
    return DISABLED


def delete(db: Connection, user: User, domain_id: int | None) -> dict[str, Any]:
    """Soft-delete the user's domain; return the row as it was, for the ``Delete.SenderDomain``
    receivers the caller tells."""
    with db.transaction(lock=True):
        row = model.get_owned(db, domain_id, user.user_id, lock=True)
        if row is None:
            raise not_found()
        if row["Status"] in PROTECTED:
            raise DomainError(3, "The domain is Suspended or Blocked by an administrator and cannot be deleted")
        model.save(db, row["DomainID"], status=DELETED)
    return row


def set_status_by_operator(db: Connection, domain_id: int, status: str) -> dict[str, Any] | None:
    """The operator's override (``octeth-domains domain status``). Enabling remembers the approval,
    so that a group's manual-approval rule does not block the domain again at the next verify."""
    with db.transaction(lock=True):
        row = model.get_by_id(db, domain_id)
        if row is None:
            return None
        _save_operators_status(db, domain_id, status)
    return model.get_by_id(db, domain_id)


def _save_operators_status(db: Connection, domain_id: int, status: str) -> None:
    model.save(db, domain_id, status=status, approved=True if status == ENABLED else None, failed_checks=0)


# What an administrator may set through admin.senderdomain.status.update, and the statuses it may
# set them from (Octeth's admin screen): a user's own Disabled and a Deleted domain are never moderated.
MODERATED = (ENABLED, SUSPENDED, BLOCKED, APPROVAL_PENDING)


def moderate(db: Connection, user_id: int, domain_id: int, status: str) -> dict[str, Any]:
    """An administrator's decision on one of ``user_id``'s domains (``status`` one of
    :data:`MODERATED`); refusals 6 (not this user's domain) and 7 (a status not moderated)."""
    with db.transaction(lock=True):
        row = model.get_by_id(db, domain_id, lock=True)  # a Deleted one too: it is refused with 7
        if row is None or int(row["RelUserID"]) != user_id:
            raise DomainError(6, "Sender domain not found for this user")
        if row["Status"] not in MODERATED:
            raise DomainError(7, f'A domain in status "{row["Status"]}" cannot be moderated; only Blocked, Enabled,'
                                 " Approval Pending, Suspended can")  # Octeth's words
        _save_operators_status(db, domain_id, status)
    return model.get_by_id(db, domain_id)
