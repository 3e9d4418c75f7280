"""Clients for the DNS providers' APIs (plain modules: no Flask, no database).

``get_provider_class("cloudflare")`` returns the class that drives that
provider, or ``None`` for a name the service cannot drive (``dns.authorize``
and ``dns.set`` answer code 8 then).
"""

from __future__ import annotations

import importlib

from .base import AuthorizationFailed, Credentials, Provider, ProviderError, Record
from .base import Change, parse_txt, written_hosts

_CLASSES = {
    "cloudflare": ("cloudflare", "Cloudflare"),
    "godaddy": ("godaddy", "GoDaddy"),
    "namecheap": ("namecheap", "Namecheap"),
    "powerdns": ("powerdns", "PowerDNS"),
}

#: The providers' public API URLs, for when configuration names none.
#: PowerDNS has no public URL: it must be configured.
DEFAULT_API_URLS = {
    "cloudflare": "https://api.cloudflare.com/client/v4",
    "godaddy": "https://api.godaddy.com",
    "namecheap": "https://api.namecheap.com/xml.response",
}


def get_provider_class(name: str) -> type[Provider] | None:
    """The :class:`Provider` subclass for ``name`` (case-insensitive), or ``None``."""
    entry = _CLASSES.get((name or "").strip().lower())
    if entry is None:
        return None
    module = importlib.import_module(f"{__name__}.{entry[0]}")
    return getattr(module, entry[1])


__all__ = [
    "AuthorizationFailed",
    "Change",
    "Credentials",
    "DEFAULT_API_URLS",
    "Provider",
    "ProviderError",
    "Record",
    "get_provider_class",
    "parse_txt",
    "written_hosts",
]
