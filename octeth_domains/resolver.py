"""The one way the service builds a dnspython resolver from its settings (``OCTETH_DNS_SERVERS``,
``OCTETH_DNS_TIMEOUT``): provider detection, Domain Connect discovery and the health checks all
ask through it, so tests reach the loopback DNS servers and every lookup is bounded alike."""
from __future__ import annotations

from collections.abc import Sequence

import dns.nameserver
import dns.resolver


def make_resolver(servers: Sequence[tuple[str, int]] | None, timeout: float) -> dns.resolver.Resolver:
    """A resolver on ``servers`` (``None``: the system's), no cache, ``timeout`` seconds a lookup."""
    if servers is None:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in servers]
    # Names asked are fully qualified; a search list would turn a missing one into another name.
    resolver.search = []
    resolver.use_search_by_default = False
    resolver.lifetime = timeout
    # Each server gets a share of the lifetime, so that a dead one does not cost the whole lookup.
    resolver.timeout = timeout / max(2, len(resolver.nameservers))
    # Each answer must be the zone as it is now, not as it was a minute ago.
    resolver.cache = None
    return resolver
