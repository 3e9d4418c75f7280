"""dns.connect: the signed Domain Connect link that lets a user approve a sender domain's records
at their own DNS provider (SPEC §12). The protocol lives in :mod:`octeth_domains.domainconnect`;
this handler reads the parameters and the settings and shapes the answer."""
from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any

from flask import current_app, request, url_for
from marshmallow import Schema

from .. import domainconnect
from ..api import openapi
from ..api.auth import Caller
from ..api.envelope import APIError
from ..api.params import Identifier, Text
from ..api.registry import command
from ..db import get_db
from ..models import senderdomains as model
from ..providers.detect import DetectionFailed, find_zone
from ..senderdomains import templates
from ..senderdomains.errors import not_found
from ..senderdomains.verify import VerificationCache

DISCOVERY_TTL = 300
UNREACHABLE_TTL = 60

# The codes dns.connect answers, for the reference and for clients.
ERRORS = {
    1: "Missing DomainID parameter",
    2: "Sender domain not found",
    3: "Domain Connect is not configured on this service",
    4: "The DNS provider of this domain does not support Domain Connect or this template (with the reason)",
    5: "Invalid RedirectURI (with the reason)",
    9: "The DNS provider could not be reached (with the reason)",
}


class ConnectSchema(Schema):
    DomainID = Identifier(required=True, metadata={"missing": (1, ERRORS[1])})
    RedirectURI = Text(metadata={"invalid": (5, "Invalid RedirectURI: an absolute http(s) URL is expected")})


# The success body, for the OpenAPI document (declared here so that the command is one module).
openapi.SUCCESS.setdefault("dns.connect", {
    "type": "object", "required": ["Success", "DomainID", "ProviderName", "URL"],
    "properties": {"Success": openapi.TRUE, "DomainID": openapi.INTEGER, "ProviderName": openapi.STRING,
                   "URL": openapi.STRING}})


def states() -> domainconnect.StateStore:
    """The store of round-trip states, made on first use (Redis when configured)."""
    return _cache("states")


def _cache(name: str) -> VerificationCache:
    extensions = current_app.extensions
    key = f"octeth_domainconnect_{name}"
    if key not in extensions:
        prefix = f"{current_app.config['OCTETH_REDIS_KEY_PREFIX']}:dc{name}:"
        extensions[key] = (domainconnect.StateStore if name == "states" else VerificationCache)(
            extensions["octeth_redis"], prefix=prefix)
    return extensions[key]


def _discovered(zone: str) -> domainconnect.Discovery:
    """The zone's Domain Connect settings with our template checked, remembered a few minutes per
    zone (a minute when the provider could not be reached): the edit page asks on every load,
    and must not wait on a slow provider each time."""
    config = current_app.config
    cache = _cache("discovery")
    key = f"{zone}:{config['OCTETH_DOMAINCONNECT_PROVIDER_ID']}:{config['OCTETH_DOMAINCONNECT_SERVICE_ID']}"
    known = cache.get(key)
    if isinstance(known, dict) and "error" in known:
        error = domainconnect.NotSupported if known["error"] == "not_supported" else domainconnect.Unreachable
        raise error(known["reason"])
    if isinstance(known, dict):
        return domainconnect.Discovery(**known)
    timeout, allow_private = config["OCTETH_PROVIDER_TIMEOUT"], config["OCTETH_DOMAINCONNECT_ALLOW_PRIVATE"]
    try:
        found = domainconnect.discover(zone, config["OCTETH_DNS_SERVERS"], config["OCTETH_DNS_TIMEOUT"], timeout,
                                       allow_private=allow_private)
        domainconnect.check_template(found, config["OCTETH_DOMAINCONNECT_PROVIDER_ID"],
                                     config["OCTETH_DOMAINCONNECT_SERVICE_ID"], timeout, allow_private=allow_private)
    except domainconnect.NotSupported as error:
        cache.set(key, {"error": "not_supported", "reason": error.reason}, ttl=DISCOVERY_TTL)
        raise
    except domainconnect.Unreachable as error:
        cache.set(key, {"error": "unreachable", "reason": error.reason}, ttl=UNREACHABLE_TTL)
        raise
    cache.set(key, dataclasses.asdict(found), ttl=DISCOVERY_TTL)
    return found


def _template_settings() -> templates.TemplateSettings:
    config = current_app.config
    return templates.TemplateSettings(
        secret_key=config["OCTETH_SECRET_KEY"],
        subdomain=config["EMAILCAMPAIGN_DNS_SUBDOMAIN"],
        track_prefix=config["EMAILCAMPAIGN_DNS_TRACK_PREFIX"],
        track_merge=config["EMAILCAMPAIGN_DNS_TRACK_MERGE"],
    )


def _redirect_uri(given: str | None, domain_id: int) -> str:
    """Where the DNS provider sends the user back. The link is signed, so the provider trusts it
    whatever it says: only this service's own host, or the configured redirect domains, may be named."""
    if not given:
        return url_for("web.connected", domain_id=domain_id, _external=True)
    try:
        parsed = urllib.parse.urlsplit(given)
        parsed.port  # raises for a port that is not a number
        hostname = parsed.hostname
    except ValueError:  # "http://[::1", "https://host:x/"
        hostname = None
    allowed = set(current_app.config["OCTETH_DOMAINCONNECT_REDIRECT_DOMAINS"]) | {request.host.split(":")[0].lower()}
    if hostname is None or parsed.scheme not in ("https", "http") or len(given) > 2000 or any(
            ord(char) < 33 for char in given):
        raise APIError(5, "Invalid RedirectURI: an absolute http(s) URL is expected")
    if hostname.lower() not in allowed:
        raise APIError(5, f"Invalid RedirectURI: {hostname} is not one of this service's redirect domains")
    return given


@command("dns.connect", rest=("POST", "dns.connect"), schema=ConnectSchema,
         errors=[(code, ERRORS[code]) for code in (2, 3, 4, 9)])
def dns_connect(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    config = current_app.config
    provider_id = config["OCTETH_DOMAINCONNECT_PROVIDER_ID"]
    if not provider_id:
        raise APIError(3, ERRORS[3])
    row = model.get_owned(get_db(), args["DomainID"], caller.user.user_id)
    if row is None:
        raise APIError(*not_found().args)
    domain_id, domain = int(row["DomainID"]), row["SenderDomain"]
    try:
        private_key = domainconnect.load_private_key(config["OCTETH_DOMAINCONNECT_PRIVATE_KEY"])
    except domainconnect.ConnectError as error:
        raise APIError(3, f"{ERRORS[3]}: {error.reason}") from None
    redirect_uri = _redirect_uri(args.get("RedirectURI"), domain_id)

    stored = model.records_of(row)
    if not stored:
        raise APIError(4, f"{ERRORS[4].split(' (')[0]}: this sender domain has no DNS records to publish")
    dns_template = current_app.extensions["octeth_templates"].get(templates.CAMPAIGN, config["OCTETH_DOMAINCONNECT_TEMPLATE"])
    try:
        service_template = domainconnect.service_template(
            dns_template, domainconnect.identity_from(config), config["EMAILCAMPAIGN_DNS_TRACK_MERGE"])
    except templates.TemplateError as error:
        raise APIError(3, f"{ERRORS[3]}: {error}") from None
    options = model.options_of(row)
    try:
        variables = domainconnect.variables_for(dns_template, domain, options, stored, _template_settings())
        zone = find_zone(domain, config["OCTETH_DNS_SERVERS"], config["OCTETH_DNS_TIMEOUT"]).zone
        host = domain[: -len(zone) - 1] if domain != zone else None
        groups = None
        if options.get("TrackPrefixDisabled") and any(r.get("groupId") == domainconnect.TRACKING_GROUP
                                                     for r in service_template["records"]):
            groups = [domainconnect.RECORDS_GROUP]
        # The promise of the link: what the DNS provider writes is exactly what verify checks.
        applied = domainconnect.apply_template(service_template, zone, host, variables, groups)
        if not domainconnect.same_records(applied, stored):
            raise domainconnect.NotSupported(
                "the DNS records of this sender domain are not those of the Domain Connect template")
        found = _discovered(zone)
    except DetectionFailed as error:
        raise APIError(9, f"The DNS provider could not be reached: {error}") from None
    except domainconnect.NotSupported as error:
        raise APIError(4, f"Domain Connect is not available for this domain: {error.reason}") from None
    except domainconnect.Unreachable as error:
        raise APIError(9, f"The DNS provider could not be reached: {error.reason}") from None

    state = states().issue({"DomainID": domain_id, "UserID": caller.user.user_id,
                            "ProviderName": found.provider_name})
    url = domainconnect.apply_url(found, provider_id, config["OCTETH_DOMAINCONNECT_SERVICE_ID"], host, variables,
                                  redirect_uri, state, config["OCTETH_DOMAINCONNECT_KEY_HOST"], private_key, groups)
    return {"Success": True, "DomainID": domain_id, "ProviderName": found.provider_name, "URL": url}
