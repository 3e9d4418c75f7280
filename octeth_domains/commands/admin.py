"""The admin.* sender-domain commands of Octeth's reference: an administrator (``AdminAPIKey``)
reads one user's domains, works through the moderation queue, and sets a domain's status.

This service keeps campaign sender domains only (Octeth's type ``CA``). Octeth stores its email
gateway domains (``EG``) in the same table, so ``DomainType`` may be either and acts on the same
row; the list of a user's gateway domains is always empty here.
"""
from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields

from ..api import catalog, openapi
from ..api.auth import USER_ID_MISSING, USER_NOT_FOUND, Caller, user_named_by_admin
from ..api.envelope import APIError
from ..api.params import clamped_int, parse_id
from ..api.registry import command
from ..db import get_db
from ..models import senderdomains as model
from ..models import stats
from ..senderdomains import lifecycle
from .senderdomains import answered

DOMAIN_TYPES = ("EG", "CA")
QUEUE_STATUSES = (model.APPROVAL_PENDING, model.BLOCKED)
PAGE_DEFAULT, PAGE_MAX = 25, 500

MODERATION_ERRORS = {
    1: "DomainID is missing or not a positive integer",
    2: "DomainType is missing",
    3: "Status is missing",
    4: "DomainType must be EG or CA",
    5: "Status must be one of Enabled, Suspended, Blocked, Approval Pending",
    6: "Sender domain not found for this user",
    7: 'A domain in status "<status>" cannot be moderated; only Blocked, Enabled, Approval Pending, Suspended can',
}
QUEUE_STATUS_INVALID = (1, "Status must be one of: Approval Pending, Blocked")


def _raw(description: str, missing: tuple[int, str] | None = None) -> fields.Raw:
    # Any value is read by the handler itself, in Octeth's order of checks and with its codes;
    # a required one that is absent is its "missing" code, checked in declaration order.
    if missing is None:
        return fields.Raw(metadata={"description": description})
    return fields.Raw(required=True, metadata={"description": description, "missing": missing})


class UserSchema(Schema):
    UserID = _raw("The user account to act on.", USER_ID_MISSING)


class ModerationSchema(Schema):
    UserID = _raw("The owner of the domain.", USER_ID_MISSING)
    DomainID = _raw("The domain to moderate.", (1, MODERATION_ERRORS[1]))
    DomainType = _raw("`EG` (email gateway) or `CA` (campaign): both act on the same stored row.",
                      (2, MODERATION_ERRORS[2]))
    Status = _raw("`Enabled` (approve), `Suspended`, `Blocked` or `Approval Pending` (unblock).",
                  (3, MODERATION_ERRORS[3]))


class QueueSchema(Schema):
    Status = _raw("`Approval Pending` or `Blocked`; both when omitted.")
    RecordsFrom = _raw("Offset in the queue (default 0); a negative one is 0, and one past the end an empty page.")
    RecordsPerRequest = _raw(f"Page size (default {PAGE_DEFAULT}, at most {PAGE_MAX}).")


# The success bodies and their examples, for the OpenAPI document and the reference (declared here
# so that the commands are one module).
_TYPED_DOMAIN = {**openapi.SENDER_DOMAIN, "properties": {**openapi.SENDER_DOMAIN["properties"],
                                                         "Type": {"type": "string", "enum": list(DOMAIN_TYPES)}}}
_QUEUED_DOMAIN = {**openapi.SENDER_DOMAIN, "properties": {
    **openapi.SENDER_DOMAIN["properties"], "Username": openapi.STRING, "EmailAddress": openapi.STRING,
    "RelUserGroupID": openapi.STRING}}
_ZERO = {"type": "integer", "enum": [0]}
openapi.SUCCESS.setdefault("admin.user.senderdomains.get", openapi._ok({
    "Success": openapi.TRUE, "ErrorCode": _ZERO, "UserID": openapi.INTEGER,
    "SenderDomainManagementEnabled": openapi.BOOLEAN,
    "EmailGatewayDomains": {"type": "array", "items": _TYPED_DOMAIN},
    "SenderDomains": {"type": "array", "items": _TYPED_DOMAIN},
    "Domains": {"type": "array", "items": _TYPED_DOMAIN}, "TotalDomains": openapi.INTEGER}))
openapi.SUCCESS.setdefault("admin.senderdomain.status.update", openapi._ok({
    "Success": openapi.TRUE, "ErrorCode": _ZERO, "UserID": openapi.INTEGER, "DomainID": openapi.INTEGER,
    "DomainType": {"type": "string", "enum": list(DOMAIN_TYPES)}, "Status": openapi.STRING, "Domain": _TYPED_DOMAIN}))
openapi.SUCCESS.setdefault("admin.senderdomains.pending.get", openapi._ok({
    "Success": openapi.TRUE, "ErrorCode": _ZERO, "Statuses": {"type": "array", "items": openapi.STRING},
    "RecordsFrom": openapi.INTEGER, "RecordsPerRequest": openapi.INTEGER,
    "Domains": {"type": "array", "items": _QUEUED_DOMAIN}, "TotalDomains": openapi.INTEGER}))

_EXAMPLE_DOMAIN = {
    "DomainID": "7", "SenderDomain": "mail.example.com", "UserID": "42", "CreatedAt": "2026-08-01 10:00:00",
    "Status": "Approval Pending", "LastVerifiedAt": None,
    "VerificationMeta": {"DNSRecords": {"sl.mail.example.com": ["CNAME", "mailer.delivery.example.", False]}},
    "PolicyMeta": [], "Options": {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0}}
_LISTED_DOMAIN = {**_EXAMPLE_DOMAIN, "Volume7d": 0, "VolumeDelta": None, "Reputation": None, "ReputationBucket": None,
                  "DeliveryRate": None, "BounceRate": None, "Type": "CA"}  # as user.senderdomain.list has it
catalog.EXAMPLES.setdefault("admin.user.senderdomains.get", {
    "Success": True, "ErrorCode": 0, "UserID": 42, "SenderDomainManagementEnabled": True, "EmailGatewayDomains": [],
    "SenderDomains": [_LISTED_DOMAIN], "Domains": [_LISTED_DOMAIN], "TotalDomains": 1})
catalog.EXAMPLES.setdefault("admin.senderdomain.status.update", {
    "Success": True, "ErrorCode": 0, "UserID": 42, "DomainID": 7, "DomainType": "CA", "Status": "Enabled",
    "Domain": {**{k: v for k, v in _EXAMPLE_DOMAIN.items() if k != "LastVerifiedAt"}, "Status": "Enabled", "Type": "CA"}})
catalog.EXAMPLES.setdefault("admin.senderdomains.pending.get", {
    "Success": True, "ErrorCode": 0, "Statuses": ["Approval Pending"], "RecordsFrom": 0, "RecordsPerRequest": 50,
    "Domains": [{**{k: v for k, v in _EXAMPLE_DOMAIN.items() if k != "LastVerifiedAt"}, "Username": "acme",
                 "EmailAddress": "owner@example.com", "RelUserGroupID": "3"}], "TotalDomains": 1})


# Past any queue, within every database's OFFSET, and an integer a JavaScript client holds exactly.
OFFSET_MAX = 2**53 - 1


def _offset(raw: Any) -> int:
    """``RecordsFrom``: an integer written in digits (a sign and surrounding ASCII white space
    allowed) or a JSON integer, in 0..OFFSET_MAX: a negative one is 0, and one past the end stays
    past the end, so that an offset beyond the queue is an empty page, never the first one again.
    Anything else (``"many"``, ``1e3``, ``0x10``) is 0."""
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, str):
        text = raw.strip(" \t\n\r\v\f")
        return clamped_int(text, 0, OFFSET_MAX) if re.fullmatch(r"[+-]?[0-9]+", text) else 0
    if not isinstance(raw, int):
        return 0
    return min(max(raw, 0), OFFSET_MAX)


def _page_size(raw: Any) -> int:
    # Digits or a JSON integer, read as an id is (nothing coerced); 1..PAGE_MAX, else the default.
    value = parse_id(raw)
    return PAGE_DEFAULT if value is None else min(max(value, 1), PAGE_MAX)


def _choice(raw: Any, allowed: tuple[str, ...]) -> str | None:
    # Matched without case, as Octeth's admin commands match Status and DomainType.
    if not isinstance(raw, str):
        return None
    return next((name for name in allowed if name.lower() == raw.strip().lower()), None)


def _typed(row: dict[str, Any], domain_type: str) -> dict[str, Any]:
    return {**model.as_seed_object(row), "Type": domain_type}


@command("admin.user.senderdomains.get", rest=("GET", "admin.user.senderdomains.get"), schema=UserSchema,
         admin=True, errors=[USER_NOT_FOUND])
def user_sender_domains(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """One user's sender domains, as the admin area's Sender Domains tab lists them."""
    db = get_db()
    user = user_named_by_admin(args.get("UserID"), db)
    manages = user.can("User.Update")
    rows = model.list_for_user(db, user.user_id, stats.today())[0] if manages else []
    campaign = [_typed(row, "CA") for row in rows]
    gateway: list[dict[str, Any]] = []  # kept by Octeth's email gateway, not by this service
    domains = gateway + campaign
    return {"Success": True, "ErrorCode": 0, "UserID": user.user_id, "SenderDomainManagementEnabled": manages,
            "EmailGatewayDomains": gateway, "SenderDomains": campaign, "Domains": domains,
            "TotalDomains": len(domains)}


@command("admin.senderdomain.status.update", rest=("POST", "admin.senderdomain.status.update"),
         schema=ModerationSchema, admin=True,
         errors=[(code, MODERATION_ERRORS[code]) for code in (1, 4, 5, 6, 7)] + [USER_NOT_FOUND])
def moderate_sender_domain(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """Set the moderation status of one of a user's sender domains (approve, suspend, block,
    unblock); a user's own Disabled and a Deleted domain are never moderated."""
    db = get_db()
    user = user_named_by_admin(args.get("UserID"), db)
    domain_id = parse_id(args["DomainID"])
    if not domain_id:
        raise APIError(1, MODERATION_ERRORS[1])
    domain_type = _choice(args["DomainType"], DOMAIN_TYPES)
    if domain_type is None:
        raise APIError(4, MODERATION_ERRORS[4])
    status = _choice(args["Status"], lifecycle.MODERATED)
    if status is None:
        raise APIError(5, MODERATION_ERRORS[5])
    with answered():
        row = lifecycle.moderate(db, user.user_id, domain_id, status)
    return {"Success": True, "ErrorCode": 0, "UserID": user.user_id, "DomainID": domain_id,
            "DomainType": domain_type, "Status": row["Status"], "Domain": _typed(row, domain_type)}


@command("admin.senderdomains.pending.get", rest=("GET", "admin.senderdomains.pending.get"), schema=QueueSchema,
         admin=True, errors=[QUEUE_STATUS_INVALID])
def moderation_queue(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """The installation's moderation queue: every Approval Pending and Blocked domain (or one of
    the two), with its owner, oldest first, a page at a time."""
    statuses = QUEUE_STATUSES
    if args.get("Status") not in (None, ""):
        chosen = _choice(args["Status"], QUEUE_STATUSES)
        if chosen is None:
            raise APIError(*QUEUE_STATUS_INVALID)
        statuses = (chosen,)
    offset = _offset(args.get("RecordsFrom"))
    size = _page_size(args.get("RecordsPerRequest"))
    rows, total = model.moderation_queue(get_db(), statuses, offset, size)
    domains = [{**model.as_seed_object(row), "Username": row["Username"], "EmailAddress": row["EmailAddress"],
                "RelUserGroupID": str(row["RelUserGroupID"])} for row in rows]
    return {"Success": True, "ErrorCode": 0, "Statuses": list(statuses), "RecordsFrom": offset,
            "RecordsPerRequest": size, "Domains": domains, "TotalDomains": total}
