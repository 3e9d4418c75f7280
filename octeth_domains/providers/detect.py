"""Which provider hosts a domain's DNS: find the zone (walk up to its SOA), read its NS records,
and name the provider they belong to (SPEC §7)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import dns.exception
import dns.name
import dns.resolver

from .nameservers import identify
from .registry import ProviderInfo
from ..resolver import make_resolver


class DetectionFailed(Exception):
    """The zone or its name servers could not be found."""


@dataclass(frozen=True)
class ZoneInfo:
    zone: str  # without the trailing dot
    nameservers: tuple[str, ...]
    provider: str | None


def provider_of(nameservers: Sequence[str], providers: Mapping[str, ProviderInfo] | None = None) -> str | None:
    """The provider every one of ``nameservers`` belongs to; None when unknown or mixed."""
    entry = identify(nameservers, providers)
    return entry.name if entry is not None else None


def _in_words(error: Exception) -> str:
    """What a failed zone lookup means, for a person: never dnspython's class name (NoRootSOA)."""
    for kind, words in (
        (dns.resolver.NXDOMAIN, "the name does not exist in DNS"),
        (dns.resolver.NoRootSOA, "no DNS zone holds it"),
        (dns.resolver.NoNameservers, "no DNS server gave an answer"),
        (dns.exception.Timeout, "the DNS lookup timed out"),
        (dns.resolver.NoAnswer, "DNS has no nameservers for it"),
    ):
        if isinstance(error, kind):
            return words
    return "not a name DNS can look up" if isinstance(error, ValueError) else "the DNS lookup failed"


def find_zone(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float,
              providers: Mapping[str, ProviderInfo] | None = None) -> ZoneInfo:
    """The zone holding ``domain``, its NS host names, and the provider they point to (among
    ``providers``; default this package's)."""
    resolver = make_resolver(servers, timeout)
    try:
        zone = dns.resolver.zone_for_name(dns.name.from_text(domain), resolver=resolver, lifetime=timeout)
        answer = resolver.resolve(zone, "NS", search=False)
    except (dns.exception.DNSException, ValueError) as error:
        raise DetectionFailed(f"cannot find the DNS zone of {domain}: {_in_words(error)}") from None
    if zone == dns.name.root:
        raise DetectionFailed(f"{domain} is not in any delegated zone")
    nameservers = tuple(sorted(rdata.target.to_text().rstrip(".").lower() for rdata in answer))
    return ZoneInfo(zone.to_text().rstrip(".").lower(), nameservers, provider_of(nameservers, providers))
