"""The user.senderdomain.* commands (seed 000): read the parameters, call the service, shape
the seed's response, and give each of the service's refusals its HTTP status."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from flask import current_app
import re

from marshmallow import Schema, ValidationError, fields

from ..api.auth import USER_ID_MISSING, USER_NOT_FOUND, Caller
from ..api.envelope import APIError
from ..api.params import Boolean, Identifier, Text, clamped_int
from ..api.registry import command
from ..db import get_db
from ..models import senderdomains as model
from .. import hooks
from ..senderdomains import dnsrecords, lifecycle, listing, templates, verification
from ..senderdomains.errors import NOT_FOUND, DomainError, not_found
from ..senderdomains.settings import DomainSettings
from ..models import stats
from ..senderdomains.names import InvalidDomain, LocalhostDomain, is_custom_label, normalize_domain

MISSING_ID = {"missing": (1, "Missing DomainID parameter")}
LABEL_RULE = "Letters, digits, and hyphens only; max 32 chars; no leading/trailing hyphens"
SWITCHES = ("LinkTracking", "OpenTracking", "UnsubscribeLink")


def _switch(name: str, create: bool = False) -> Boolean:
    # A legacy client knows create's 7 (HTTP 400) as "that request could not make a domain"; update
    # has no such code, so it gets one of its own.
    if create:
        return Boolean(metadata={"invalid": (7, "Sender domain create process failed", 400)})
    return Boolean(metadata={"invalid": (13, f"Invalid {name}: expected true or false")})


def _custom_label(value: str) -> None:
    if not is_custom_label(value):
        raise ValidationError("Not a custom label.")


def _label(name: str) -> Text:
    return Text(validate=_custom_label, metadata={"invalid": (6, f"Invalid {name}. {LABEL_RULE}")})


class DomainIdSchema(Schema):
    DomainID = Identifier(required=True, metadata=MISSING_ID)


class GetSchema(Schema):
    DomainID = Identifier(required=True, metadata=MISSING_ID)
    # Octeth v5.9.4: days of daily stats, clamped to 1..365; anything not a number is the default.
    days = fields.Raw()


STATS_DAYS_DEFAULT, STATS_DAYS_MAX = 30, 365


def _stats_days(raw: Any) -> int:
    text = str(raw).strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        return STATS_DAYS_DEFAULT
    return clamped_int(text, 1, STATS_DAYS_MAX)


class CreateSchema(Schema):
    SenderDomain = Text(required=True, metadata={"missing": (1, "Missing SenderDomain parameter"),
                                                  "invalid": (7, "Sender domain create process failed", 400)})
    LinkTracking = _switch("LinkTracking", create=True)
    OpenTracking = _switch("OpenTracking", create=True)
    UnsubscribeLink = _switch("UnsubscribeLink", create=True)
    UseTrackingSubdomain = _switch("UseTrackingSubdomain", create=True)
    CustomSubdomain = _label("CustomSubdomain")
    CustomTrackPrefix = _label("CustomTrackPrefix")


class UpdateSchema(Schema):
    DomainID = Identifier(required=True, metadata=MISSING_ID)
    LinkTracking = _switch("LinkTracking")
    OpenTracking = _switch("OpenTracking")
    UnsubscribeLink = _switch("UnsubscribeLink")
    UseTrackingSubdomain = _switch("UseTrackingSubdomain")
    CustomSubdomain = _label("CustomSubdomain")
    CustomTrackPrefix = _label("CustomTrackPrefix")
    Status = Text(metadata={"invalid": (9, "Invalid Status value. Allowed: Enabled, Disabled")})


class VerifySchema(Schema):
    DomainID = Identifier(metadata=MISSING_ID)
    VerifyAll = _switch("VerifyAll")


# HTTP statuses of the service's refusals, per command; every other code is a business error the
# seed gives no status, answered with 200. Delete's 3 travels with 422 as in Octeth v6.0.1, the
# release that added the refusal.
CREATE_STATUSES = {5: 403, 7: 400, 8: 500}
UPDATE_STATUSES = {7: 500}
DELETE_STATUSES = {3: 422}


@contextmanager
def answered(statuses: dict[int, int] | None = None) -> Iterator[None]:
    try:
        yield
    except DomainError as error:
        raise APIError(error.code, error.message, (statuses or {}).get(error.code, 200), reason=error.reason) from None


def _settings() -> DomainSettings:
    return current_app.extensions["octeth_senderdomains"]


def _domain_response(domain_id: int, missing: tuple[int, str, int], **extra: Any) -> dict[str, Any]:
    # Read back what was written, as the PHP product did: the answer is what is stored.
    row = model.get_by_id(get_db(), domain_id)
    if row is None:
        raise DomainError(*missing)
    return {"Success": True, **extra, "SenderDomain": model.as_seed_object(row)}


@command("user.senderdomain.list", rest=("GET", "user.senderdomains"), admin_access=True,
         errors=[USER_ID_MISSING, USER_NOT_FOUND])
def list_sender_domains(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    return {"Success": True, "SenderDomains": listing.sender_domains(
        get_db(), caller.user.user_id, current_app.extensions.get("octeth_list_cache"))}


@command("user.senderdomain.get", rest=("GET", "user.senderdomain"), schema=GetSchema,
         errors=[NOT_FOUND])
def get_sender_domain(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    day = stats.today()
    row = model.get_owned_with_stats(get_db(), args["DomainID"], caller.user.user_id, day)
    if row is None:
        raise APIError(*not_found().args)
    answer = {"Success": True, "SenderDomain": model.as_seed_object(row)}
    if "days" in args:
        days = _stats_days(args["days"])
        answer["Days"] = days
        answer["Stats"] = {
            str(entry["StatDate"])[:10]: {
                "Period": str(entry["StatDate"])[:10],
                **{name: int(entry[name]) for name in ("Sent", "Delivered", "Bounced", "Complaints")},
            }
            for entry in stats.daily(get_db(), int(row["DomainID"]), days, day)
        }
    return answer


@command("user.senderdomain.create", rest=("POST", "user.senderdomain"), schema=CreateSchema, errors=[
    (4, "localhost is not a valid sender domain"), (5, "Sender domain limit reached for your account", 403),
    (6, "Invalid CustomSubdomain or CustomTrackPrefix: the host names they make are too long for DNS"),
    (7, "Sender domain create process failed", 400), (8, "Sender domain could not be retrieved after creation", 500)])
def create_sender_domain(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    try:
        domain = normalize_domain(args["SenderDomain"])
    except LocalhostDomain:
        raise APIError(4, "localhost is not a valid sender domain") from None
    except InvalidDomain as error:
        raise APIError(7, "Sender domain create process failed", 400, reason=error.reason) from None
    options = {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0}
    options.update({name: int(args[name]) for name in SWITCHES if name in args})
    for name in ("CustomSubdomain", "CustomTrackPrefix"):
        if name in args:
            options[name] = args[name]
    if "UseTrackingSubdomain" in args:
        options["TrackPrefixDisabled"] = not args["UseTrackingSubdomain"]
    with answered(CREATE_STATUSES):
        domain_id = lifecycle.create(get_db(), _settings(), caller.user, domain, model.ordered_options(options))
        missing = (8, "Sender domain could not be retrieved after creation")
        return {"Success": True, "DomainID": domain_id, **_domain_response(domain_id, missing)}


@command("user.senderdomain.update", rest=("PATCH", "user.senderdomain"), schema=UpdateSchema, errors=[
    NOT_FOUND, (6, "Invalid CustomSubdomain or CustomTrackPrefix: the host names they make are too long for DNS"),
    (7, "Sender domain could not be retrieved after update", 500),
    (10, "Cannot enable an unverified domain: run user.senderdomain.verify first"),
    (11, "The domain is Suspended or Blocked by an administrator; only an administrator can change its status"),
    (12, "Cannot disable an unverified (Approval Pending) domain: run user.senderdomain.verify first, or delete the domain")])
def update_sender_domain(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    status = args.get("Status")
    if status is not None:
        status = {"enabled": model.ENABLED, "disabled": model.DISABLED}.get(status.strip().lower())
        if status is None:
            raise APIError(9, "Invalid Status value. Allowed: Enabled, Disabled")
    change = lifecycle.Update(
        switches={name: int(args[name]) for name in SWITCHES if name in args},
        labels={name: args[name] for name in ("CustomSubdomain", "CustomTrackPrefix") if name in args},
        use_tracking_subdomain=args.get("UseTrackingSubdomain"),
        status=status,
    )
    with answered(UPDATE_STATUSES):
        domain_id, regenerated = lifecycle.update(get_db(), _settings(), caller.user, args["DomainID"], change)
        missing = (7, "Sender domain could not be retrieved after update")
        return _domain_response(domain_id, missing, DnsRegenerated=regenerated)


@command("user.senderdomain.delete", rest=("DELETE", "user.senderdomain"), schema=DomainIdSchema,
         errors=[NOT_FOUND, (3, "The domain is Suspended or Blocked by an administrator and cannot be deleted", 422)])
def delete_sender_domain(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    with answered(DELETE_STATUSES):
        row = lifecycle.delete(get_db(), caller.user, args["DomainID"])
    hooks.send("Delete.SenderDomain", current_app._get_current_object(), DomainID=int(row["DomainID"]),
               UserID=int(row["RelUserID"]), SenderDomain=row["SenderDomain"])
    return {"Success": True}


@command("user.senderdomain.verify", rest=("POST", "user.senderdomain.verify"), schema=VerifySchema, errors=[
    MISSING_ID["missing"], NOT_FOUND, (14, "The DNS records of this sender domain keep changing; verify again")])
def verify_sender_domain(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    if args.get("VerifyAll"):
        return {"Success": True, "VerifyAll": True, **verification.verify_pending(get_db(), _settings(), caller.user)}
    if "DomainID" not in args:
        raise APIError(*MISSING_ID["missing"])
    with answered():
        return {"Success": True, **verification.verify_domain(get_db(), _settings(), caller.user, args["DomainID"])}


@command("user.senderdomain.dns", rest=("GET", "user.senderdomain.dns"), schema=DomainIdSchema,
         errors=[NOT_FOUND])
def sender_domain_dns(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    row = model.get_owned(get_db(), args["DomainID"], caller.user.user_id)
    if row is None:
        raise APIError(*not_found().args)
    records = model.records_of(row)
    if not records:
        # Shown so the user knows what to publish; saved only by create, update and verify.
        records = _settings().render(templates.CAMPAIGN, caller.user.dns_template, row["SenderDomain"],
                                     model.options_of(row))
    # The last stored probe's explanations (SPEC §10), whoever ran it: the user, or reverify.
    diagnostics, health = verification.last_diagnostics(get_db(), int(row["DomainID"]), dnsrecords.from_json(records))
    return {
        "Success": True,
        "DomainID": int(row["DomainID"]),
        "SenderDomain": row["SenderDomain"],
        "DNSRecords": {
            host: {"Type": record[0], "Value": record[1], "IsVerified": record[2] if len(record) > 2 else None}
            for host, record in records.items()
        },
        "Diagnostics": diagnostics,
        "Health": health,
    }
