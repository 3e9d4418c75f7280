"""dns.provider, dns.authorize and dns.set (seed 003).

Provider credentials arrive with the request, are handed to the provider client, and are gone
with the request: never stored, never logged, never put in a response, not even inside an
error's text (every message leaving here is scrubbed of them).
"""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import current_app
from marshmallow import Schema

from ..api.auth import Caller
from ..api.envelope import APIError
from ..api.params import Text
from ..api.registry import command
from ..db import get_db
from ..locks import LockTimeout, zone_lock
from ..models import senderdomains as model
from ..providers import AuthorizationFailed, Credentials, ProviderError, Record, registry, scrub
from ..providers.detect import DetectionFailed, find_zone
from ..senderdomains import templates
from ..senderdomains.names import InvalidDomain, normalize_domain

log = logging.getLogger(__name__)

MISSING_DOMAIN = {"missing": (1, "Missing Domain parameter")}
RECORD_TYPE_MISSING = 'Missing record type parameter (e.g. "campaign", "email-gateway")'
# The codes _client answers for the credentials, shared by dns.authorize and dns.set: the
# seed's, whichever provider needs which (each provider's module declares its own).
CLIENT_ERRORS = [(2, "Missing API key parameter"), (3, "Missing provider parameter"),
                 *((needed.code, needed.message) for needed in (registry.secret(""), registry.api_user(""),
                                                                 registry.username(""))),
                 (8, "Unsupported provider: <name>")]


class ProviderSchema(Schema):
    Domain = Text(required=True, metadata=MISSING_DOMAIN)


class AuthorizeSchema(Schema):
    # Both spellings of each credential are accepted: the seed's (Api_key, Useranem, …) and the
    # later pages' (ApiKey, Username, …). ApiKey is read apart, see _provider_key. A value of the
    # wrong kind (a JSON true, a list) is no value: the seed's code for a missing one.
    Domain = Text(required=True, metadata=MISSING_DOMAIN)
    Api_key = Text(metadata={"missing": (2, "Missing API key parameter")})
    ApiKey = Text(metadata={"missing": (2, "Missing API key parameter")})
    Provider = Text(metadata={"missing": (3, "Missing provider parameter")})
    ApiSecret = Text(metadata={"aliases": ("Api_secret",), "missing": (5, "Missing API secret parameter")})
    ApiUser = Text(metadata={"aliases": ("Api_user",), "missing": (6, "Missing API user parameter")})
    Username = Text(metadata={"aliases": ("Useranem",), "missing": (7, "Missing username parameter")})


class SetSchema(AuthorizeSchema):
    RecordType = Text(metadata={"aliases": ("Record_type",), "missing": (4, RECORD_TYPE_MISSING)})


def _providers() -> dict[str, registry.ProviderInfo]:
    return current_app.extensions["octeth_providers"]


def _zone_lookup(domain: str):
    config = current_app.config
    return find_zone(domain, config["OCTETH_DNS_SERVERS"], config["OCTETH_DNS_TIMEOUT"], _providers())


@command("dns.provider", rest=("GET", "dns.provider"), schema=ProviderSchema,
         errors=[(2, "Unable to determine DNS provider for this domain")])
def dns_provider(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    unknown = APIError(2, "Unable to determine DNS provider for this domain")
    try:
        info = _zone_lookup(normalize_domain(args["Domain"]))
    except (InvalidDomain, DetectionFailed):
        raise unknown from None
    if info.provider is None:
        raise unknown
    return {"provider": info.provider}


def _provider_key(args: dict[str, Any], caller: Caller) -> str | None:
    """``Api_key`` always names the provider's key, and wins when both are sent; ``ApiKey`` does
    only when the caller did not use that same name to authenticate (it is ``APIKey`` once case
    is folded)."""
    if "Api_key" in args:
        return args["Api_key"]
    if caller.via != "apikey" and "ApiKey" in args:
        return args["ApiKey"]
    return None


# Every provider's credentials are printable ASCII; anything else cannot travel in an HTTP header
# and would fail later as a "connection" error that tells the user nothing.
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*\Z")
_CREDENTIAL_NAMES = {"key": "API key", "secret": "API secret", "api_user": "API user", "username": "username"}


def _unusable_credential(credentials: Credentials) -> str | None:
    for attribute, name in _CREDENTIAL_NAMES.items():
        value = getattr(credentials, attribute)
        if value and not _PRINTABLE_ASCII.match(value):
            return name
    return None


def _client(args: dict[str, Any], caller: Caller, refusal: tuple[int, str]):
    """The provider client for this request, after the seed's parameter checks (codes 2–8);
    ``refusal`` is the command's code and words for credentials no provider could accept."""
    key = _provider_key(args, caller)
    if not key:
        raise APIError(2, "Missing API key parameter")
    name = args.get("Provider")
    if not name:
        raise APIError(3, "Missing provider parameter")
    unsupported = f"Unsupported provider: {name}"
    info = _providers().get(name.strip().lower())
    config = current_app.config
    # Recognised but not drivable, or drivable with no API URL configured (PowerDNS): code 8.
    if info is None or not info.drivable or not config.get(info.api_url_setting):
        raise APIError(8, unsupported)
    missing_extra = info.unavailable()
    if missing_extra is not None:
        raise APIError(8, f"{unsupported} ({missing_extra})")
    # A key pasted from a terminal or a file often brings its line break along: surrounding white
    # space is never part of a credential.
    credentials = Credentials(*(value.strip() if isinstance(value, str) else value for value in (
        key, args.get("ApiSecret"), args.get("ApiUser"), args.get("Username"))))
    needed = info.missing(credentials)
    if needed is not None:
        raise APIError(needed.code, needed.message)
    unusable = _unusable_credential(credentials)
    if unusable is not None:
        code, words = refusal
        raise APIError(code, f"{words}: the {unusable} contains characters no DNS provider uses (only printable"
                             " ASCII); check that it was copied whole and nothing else")
    try:
        return info.connect(credentials, config, config["OCTETH_PROVIDER_TIMEOUT"])
    except registry.ExtraMissing as error:
        raise APIError(8, f"{unsupported} ({error})") from None


def _domain(args: dict[str, Any], code: int, message: str) -> str:
    try:
        return normalize_domain(args["Domain"])
    except InvalidDomain:
        raise APIError(code, f"{message}: invalid domain name") from None


@command("dns.authorize", rest=[("POST", "dns.authorize"), ("GET", "dns.authorize")], schema=AuthorizeSchema,
         errors=[*CLIENT_ERRORS, (4, "Authorization failed for this DNS provider: <reason>"),
                 (9, "An error occurred during authorization: <reason>")])
def dns_authorize(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    prefix = "An error occurred during authorization"
    client = _client(args, caller, (4, "Authorization failed for this DNS provider"))
    domain = _domain(args, 9, prefix)
    try:
        with client:
            zone = _zone_lookup(domain).zone
            client.check_access(zone)
    except DetectionFailed as error:
        raise APIError(9, f"{prefix}: {error}") from None
    except AuthorizationFailed as error:
        log.info("dns.authorize refused by %s for %s", client.__class__.__name__, domain)
        raise APIError(4, f"Authorization failed for this DNS provider: {error.reason}") from None
    except ProviderError as error:
        raise APIError(9, f"{prefix}: {error.reason}") from None
    except Exception as error:  # anything else is still answered, and still without credentials
        raise _cleaned(error, client, 9, prefix) from None
    return {"success": True}


@command("dns.set", rest=[("POST", "dns.set"), ("GET", "dns.set")], schema=SetSchema,
         errors=[*CLIENT_ERRORS, (4, 'Missing record type parameter (e.g. "campaign", "email-gateway")'),
                 (9, "Failed to set DNS records for this domain: <reason>"), (10, "<unexpected provider failure>")])
def dns_set(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    prefix = "Failed to set DNS records for this domain"
    client = _client(args, caller, (9, prefix))
    kind = (args.get("RecordType") or "").strip().lower()
    if not kind:
        raise APIError(4, RECORD_TYPE_MISSING)
    if kind not in (templates.CAMPAIGN, templates.EMAIL_GATEWAY):
        raise APIError(4, f"Invalid record type {args['RecordType'][:64]!r}: allowed values are"
                          f" {templates.CAMPAIGN!r} and {templates.EMAIL_GATEWAY!r}")
    domain = _domain(args, 9, prefix)
    records = _records_to_publish(caller, kind, domain, prefix)
    wanted = [Record(host, rtype, value) for host, (rtype, value) in records.items()]
    config = current_app.config
    try:
        with client:
            zone = _zone_lookup(domain).zone
            with zone_lock(current_app.extensions["octeth_redis"], config["OCTETH_REDIS_KEY_PREFIX"], zone,
                           wait=config["OCTETH_PROVIDER_TIMEOUT"] * 3):
                written = client.ensure_records(zone, wanted)
    except DetectionFailed as error:
        raise APIError(9, f"{prefix}: {error}") from None
    except LockTimeout:
        raise APIError(9, f"{prefix}: another update of this zone is in progress; try again shortly") from None
    except ProviderError as error:
        raise APIError(9, f"{prefix}: {error.reason}") from None
    except Exception as error:
        raise _cleaned(error, client, 10, None) from None
    # Named as the records are stored and answered by create/get ("_DMARC.sl.example.com"): DNS
    # names compare without case, and the provider's side spells them lower-case.
    spelling = {host.rstrip(".").lower(): host for host in records}
    return {"success": True, "Records": [spelling.get(name.rstrip(".").lower(), name) for name in written]}


def _records_to_publish(caller: Caller, kind: str, domain: str, prefix: str) -> dict[str, tuple[str, str]]:
    if kind == templates.EMAIL_GATEWAY:
        rendered = current_app.extensions["octeth_senderdomains"].render(templates.EMAIL_GATEWAY, caller.user.dns_template, domain, {})
        _refuse_campaign_hosts(caller, domain, rendered, prefix)
    else:
        row = model.find_pair(get_db(), domain, caller.user.user_id)
        if row is None or row["Status"] == model.DELETED:
            raise APIError(9, f"{prefix}: {domain} is not one of your sender domains")
        rendered = model.records_of(row)
    return {host: (record[0], record[1]) for host, record in rendered.items()}


def _refuse_campaign_hosts(caller: Caller, domain: str, rendered: dict[str, Any], prefix: str) -> None:
    """Code 9 when an email-gateway record would land on a host that the caller's campaign
    sender domain of this name holds: the two templates would overwrite each other in turn."""
    row = model.find_pair(get_db(), domain, caller.user.user_id)
    if row is None or row["Status"] == model.DELETED:
        return
    held = {host.rstrip(".").lower() for host in model.records_of(row)}
    for host in rendered:
        if host.rstrip(".").lower() in held:
            raise APIError(9, f"{prefix}: {host} holds a record of your sender domain {domain}; the email-gateway"
                              " records cannot share it (ask the operator to change the templates)")


def _cleaned(error: Exception, client: Any, code: int, prefix: str | None) -> APIError:
    text = scrub(f"{error.__class__.__name__}: {error}", client.credentials.values())
    log.error("dns command failed unexpectedly: %s", text)
    # The details are for the operator's log; the caller learns that it failed, in words.
    said = "an unexpected error occurred; the service's log has the details"
    return APIError(code, f"{prefix}: {said}" if prefix else said[0].upper() + said[1:])
