"""Which DNS provider a set of name servers belongs to, for ``dns.provider`` (the provider's
name) and ``user.senderdomain.dnshost`` (its label, "DNS via Cloudflare"), both read from the
registry of providers: each provider's module holds its own patterns. Patterns are shell-style
(``fnmatch``) on the lower-cased host name without its final dot; the most particular matching
pattern wins (:func:`.registry.host_of`), so the order of the modules does not matter.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Mapping, Sequence

from . import registry
from .registry import UNKNOWN, ProviderInfo

__all__ = ["UNKNOWN", "default_providers", "identify"]


@lru_cache(maxsize=1)
def default_providers() -> Mapping[str, ProviderInfo]:
    """This package's providers alone, for callers outside an app (an app keeps its own
    registry, with the operator's modules, in ``app.extensions["octeth_providers"]``)."""
    return registry.load()


def identify(nameservers: Sequence[str], providers: Mapping[str, ProviderInfo] | None = None) -> ProviderInfo | None:
    """The provider every one of ``nameservers`` belongs to; None when unknown, mixed or empty."""
    return registry.identify(nameservers, default_providers() if providers is None else providers)
