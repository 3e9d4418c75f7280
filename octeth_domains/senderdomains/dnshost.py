"""Who hosts a sender domain's DNS (``user.senderdomain.dnshost``): the apex's NS records and the
provider label they map to, kept an hour per domain (NS records change rarely). A lookup that
fails answers ``unknown`` with no name servers, never an error, and is kept a minute only, so
that a passing outage does not stay on the user's page for an hour."""
from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

from ..providers.detect import DetectionFailed, find_zone
from ..providers.nameservers import UNKNOWN, identify
from ..providers.registry import ProviderInfo

CACHE_SECONDS = 3600
FAILURE_CACHE_SECONDS = 60


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: float = 60) -> None: ...


def dns_host(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float,
             cache: Cache, providers: Mapping[str, ProviderInfo] | None = None) -> tuple[str, list[str]]:
    """(label, name servers) for ``domain``: ``("Cloudflare", [...])``, ``("unknown", [...])``
    when no provider's patterns match, ``("unknown", [])`` when the lookup failed. ``providers``:
    the app's registry (default this package's providers)."""
    cached = cache.get(domain)
    if isinstance(cached, dict) and isinstance(cached.get("Nameservers"), list):
        return str(cached.get("DnsHost") or UNKNOWN), [str(ns) for ns in cached["Nameservers"]]
    try:
        nameservers = list(find_zone(domain, servers, timeout).nameservers)
    except DetectionFailed:
        label, nameservers, ttl = UNKNOWN, [], FAILURE_CACHE_SECONDS
    else:
        entry = identify(nameservers, providers)
        label, ttl = (entry.label if entry is not None else UNKNOWN), CACHE_SECONDS
    cache.set(domain, {"DnsHost": label, "Nameservers": nameservers}, ttl)
    return label, nameservers
