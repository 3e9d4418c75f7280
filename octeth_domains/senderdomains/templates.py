"""DNS record templates for sender domains (SPEC §5).

A template maps host patterns to ``[TYPE, value]`` pairs. Rendering a
template for one domain substitutes the placeholders and yields the
records the user must publish, in the template's order. This module knows
nothing about Flask or the database so that the app, the command line and
the tests all render records the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "BUILTIN_TOML",
    "CAMPAIGN",
    "DEFAULT_DELIVERY_HOST",
    "DEFAULT_TEMPLATE",
    "EMAIL_GATEWAY",
    "RECORD_TYPES",
    "TemplateError",
    "TemplateSettings",
    "Templates",
    "load_templates",
    "ownership_token",
    "render",
    "verify_ownership_token",
]

CAMPAIGN = "campaign"
EMAIL_GATEWAY = "email-gateway"
DEFAULT_TEMPLATE = "Default"
DEFAULT_DELIVERY_HOST = "mailer.octeth.example."
RECORD_TYPES = frozenset({"CNAME", "TXT", "MX", "A", "AAAA"})

#: The template used without ``OCTETH_DNS_TEMPLATES``. ``$delivery_host`` is
#: replaced by ``OCTETH_DELIVERY_HOST`` and ``$spf_include`` by
#: ``OCTETH_SPF_INCLUDE`` (default ``_spf.<delivery host>``); the text doubles
#: as a starting point for operators who want their own file. The email
#: gateway's records are what Octeth's email gateway verifies: ``mail.<domain>``
#: and the apex SPF, which dns.set merges into a user's existing SPF record.
BUILTIN_TOML = """\
[campaign.Default]
"_Subdomain_._SenderDomain_" = ["CNAME", "$delivery_host"]
"key1._domainkey._Subdomain_._SenderDomain_" = ["CNAME", "key1._domainkey.$delivery_host"]
"_DMARC._Subdomain_._SenderDomain_" = ["CNAME", "_DMARC.$delivery_host"]
"_TrackPrefix__TrackMerge__Subdomain_._SenderDomain_" = ["CNAME", "track.$delivery_host"]
"_SenderDomainRandom_._Subdomain_._SenderDomain_" = ["TXT", "_SenderDomainHash_"]

[email-gateway.Default]
"mail._SenderDomain_" = ["CNAME", "gateway.$delivery_host"]
"_SenderDomain_" = ["TXT", "v=spf1 include:$spf_include ~all"]
"""

_BUILTIN_SOURCE = "<built-in templates>"
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits
_RANDOM_LENGTH = 10

# One pass over all tokens, longest first, so that "_SenderDomain_" never
# eats the start of "_SenderDomainRandom_" and a substituted value is never
# scanned again (a custom label cannot smuggle in a placeholder).
_TOKENS = (
    "_SenderDomainRandom_",
    "_SenderDomainHash_",
    "_SenderDomain_",
    "_TrackPrefix_",
    "_TrackMerge_",
    "_Subdomain_",
)
_TOKEN_RE = re.compile("|".join(sorted(map(re.escape, _TOKENS), key=len, reverse=True)))
_TRACK_TOKEN = "_TrackPrefix_"

Records = Mapping[str, tuple[str, str]]


class TemplateError(Exception):
    """The templates file cannot be used. The message names the file and
    the template, and is meant to be shown to an operator as is."""


@dataclass(frozen=True, kw_only=True)
class TemplateSettings:
    """Service-wide values that fill the placeholders a domain does not
    override (``EMAILCAMPAIGN_DNS_*`` and ``OCTETH_SECRET_KEY``)."""

    secret_key: bytes
    subdomain: str = "sl"
    track_prefix: str = "track"
    track_merge: str = "-"

    def __post_init__(self) -> None:
        # An empty key would make ownership tokens computable by anyone.
        if not self.secret_key:
            raise ValueError("TemplateSettings.secret_key must not be empty.")


@dataclass(frozen=True)
class Templates:
    """The loaded templates of both kinds, each ``{name: {host: (TYPE, value)}}``."""

    campaign: Mapping[str, Records]
    email_gateway: Mapping[str, Records]
    source: str

    def get(self, kind: str, name: str | None = None) -> Records:
        """Return the template ``name`` of ``kind`` (``"campaign"`` or
        ``"email-gateway"``), or that kind's ``Default`` when no template has
        that name, so a group pointing at a removed template keeps working.
        """
        if kind == CAMPAIGN:
            table = self.campaign
        elif kind == EMAIL_GATEWAY:
            table = self.email_gateway
        else:
            raise ValueError(f"Unknown template kind {kind!r}.")

        if name is not None and name in table:
            return table[name]

        return table[DEFAULT_TEMPLATE]


def default_spf_include(delivery_host: str) -> str:
    """The SPF include of the built-in email-gateway template: ``_spf.<delivery host>``."""
    return "_spf." + delivery_host.strip().rstrip(".").lower()


def load_templates(
    path: str | None, delivery_host: str = DEFAULT_DELIVERY_HOST, spf_include: str | None = None
) -> Templates:
    """Load and validate the templates file at ``path``, or the built-in
    templates pointed at ``delivery_host`` when ``path`` is ``None``.

    A kind the file leaves without a ``Default`` gets the built-in one, so
    every lookup has a fallback. Raises :exc:`TemplateError` for a file that
    cannot be read, is not TOML, or holds anything but known record types.
    """
    builtin = _parse(
        string.Template(BUILTIN_TOML).substitute(
            delivery_host=delivery_host, spf_include=spf_include or default_spf_include(delivery_host)
        ),
        _BUILTIN_SOURCE,
    )

    if path is None:
        return builtin

    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as e:
        raise TemplateError(f"{path}: cannot read templates file: {e.strerror}.") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: templates file is not UTF-8.") from None

    loaded = _parse(text, path)
    return Templates(
        campaign=_with_default(loaded.campaign, builtin.campaign),
        email_gateway=_with_default(loaded.email_gateway, builtin.email_gateway),
        source=path,
    )


def _with_default(
    table: Mapping[str, Records], builtin: Mapping[str, Records]
) -> Mapping[str, Records]:
    if DEFAULT_TEMPLATE in table:
        return table

    return MappingProxyType({DEFAULT_TEMPLATE: builtin[DEFAULT_TEMPLATE], **table})


def _parse(text: str, source: str) -> Templates:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TemplateError(f"{source}: not valid TOML: {e}.") from None

    unknown = set(data) - {CAMPAIGN, EMAIL_GATEWAY}

    if unknown:
        names = ", ".join(sorted(unknown))
        raise TemplateError(
            f"{source}: unknown table {names!r}; expected {CAMPAIGN!r} and {EMAIL_GATEWAY!r}."
        )

    return Templates(
        campaign=_parse_kind(data.get(CAMPAIGN, {}), CAMPAIGN, source),
        email_gateway=_parse_kind(data.get(EMAIL_GATEWAY, {}), EMAIL_GATEWAY, source),
        source=source,
    )


def _parse_kind(table: Any, kind: str, source: str) -> Mapping[str, Records]:
    if not isinstance(table, dict):
        raise TemplateError(f"{source}: {kind!r} must be a table of templates.")

    templates = {}

    for name, records in table.items():
        where = f"{source}: template '{kind}.{name}'"

        if not isinstance(records, dict):
            raise TemplateError(f"{where} must be a table of host = [TYPE, value].")

        parsed = {}

        for host, record in records.items():
            if not host:
                raise TemplateError(f"{where}: a record has an empty host.")

            if (
                not isinstance(record, list)
                or len(record) != 2
                or not all(isinstance(part, str) and part for part in record)
            ):
                raise TemplateError(
                    f"{where}: record {host!r} must be a pair of strings [TYPE, value]."
                )

            rtype = record[0].upper()

            if rtype not in RECORD_TYPES:
                allowed = ", ".join(sorted(RECORD_TYPES))
                raise TemplateError(
                    f"{where}: record {host!r} has type {record[0]!r}, not one of {allowed}."
                )

            if rtype == "MX":
                mx = re.fullmatch(r"(\d{1,5})\s+\S+", record[1].strip())
                if mx is None or int(mx.group(1)) > 65535:  # RFC 1035: a 16-bit number
                    raise TemplateError(
                        f"{where}: MX record {host!r} must be written \"<preference> <host>\" with a"
                        " preference from 0 to 65535, e.g. \"10 mx.example.\"."
                    )

            parsed[host] = (rtype, record[1])

        templates[name] = MappingProxyType(parsed)

    return MappingProxyType(templates)


def ownership_token(secret: bytes, domain: str, label: str) -> str:
    """Return the ownership token published at ``label`` for ``domain``.

    It is an HMAC under the service's secret so that nobody can publish a
    valid token for a label without the service having issued it.
    """
    digest = hmac.new(secret, f"{domain}:{label}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_ownership_token(secret: bytes, domain: str, label: str, token: str) -> bool:
    """Tell whether ``token`` is the one :func:`ownership_token` issues,
    comparing in constant time so the token cannot be guessed byte by byte."""
    expected = ownership_token(secret, domain, label)
    return hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8"))


def render(
    template_records: Mapping[str, Sequence[str]],
    domain: str,
    options: Mapping[str, Any],
    settings: TemplateSettings,
    *,
    random_label: str | None = None,
) -> dict[str, list[str]]:
    """Render a template for ``domain`` (already normalized) into
    ``{host: [TYPE, value]}``, in the template's order, hosts lower-cased.

    ``options`` are the domain's stored options: ``CustomSubdomain`` and
    ``CustomTrackPrefix`` override the settings, and a true
    ``TrackPrefixDisabled`` leaves out the tracking record (the one whose host
    pattern holds ``_TrackPrefix_``). One random label is drawn per call and
    shared by every record, so the TXT host and its token agree; pass
    ``random_label`` to make the output reproducible.

    Raises :exc:`TemplateError` when two records land on one host with
    different contents, since the stored form can only keep one of them.
    """
    if random_label is None:
        random_label = "".join(
            secrets.choice(_RANDOM_ALPHABET) for _ in range(_RANDOM_LENGTH)
        )

    values = {
        "_SenderDomain_": domain,
        "_Subdomain_": (options.get("CustomSubdomain") or settings.subdomain).lower(),
        "_TrackPrefix_": (options.get("CustomTrackPrefix") or settings.track_prefix).lower(),
        "_TrackMerge_": settings.track_merge,
        "_SenderDomainRandom_": random_label,
        "_SenderDomainHash_": ownership_token(settings.secret_key, domain, random_label),
    }

    def fill(text: str) -> str:
        return _TOKEN_RE.sub(lambda m: values[m.group()], text)

    skip_tracking = bool(options.get("TrackPrefixDisabled"))
    out: dict[str, list[str]] = {}
    spelt: dict[str, str] = {}  # DNS names compare without case: one host, whatever its spelling

    for pattern, (rtype, value) in template_records.items():
        if skip_tracking and _TRACK_TOKEN in pattern:
            continue

        # The template's own letters keep their case (Octeth's "_DMARC.sl.example.com"); what is
        # filled in (the domain, the labels) is lower-case already.
        filled = fill(pattern)
        host = spelt.setdefault(filled.lower(), filled)
        record = [rtype, fill(value)]

        if out.setdefault(host, record) != record:
            raise TemplateError(
                f"Template renders two different records at {host!r} for {domain!r}."
            )

    return out
