"""Which DNS provider a set of name servers belongs to: the one table that serves both
``dns.provider`` (a provider's name, which dns.authorize / dns.set take) and
``user.senderdomain.dnshost`` (the label Octeth's front end shows, "DNS via Cloudflare").

Each provider the service drives keeps its patterns in its own module (``NAMESERVERS``); the
providers it only recognises, so that a user learns who hosts their DNS, are listed here. Patterns
are shell-style (``fnmatch``) on the lower-cased host name without its final dot; the first
provider with a matching pattern wins, so the more particular patterns come first.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Sequence


@dataclass(frozen=True)
class DnsHost:
    name: str  # as dns.provider answers it
    label: str  # as Octeth's dnshost answers it
    patterns: tuple[str, ...]


# The providers we drive: (name, module, label). Their patterns are their modules' NAMESERVERS.
DRIVEN = (
    ("cloudflare", "cloudflare", "Cloudflare"),
    ("godaddy", "godaddy", "GoDaddy"),
    ("namecheap", "namecheap", "Namecheap"),
    ("powerdns", "powerdns", "PowerDNS"),
)

# The providers we recognise only. Octeth's own labels first (its v5.9.4 dnshost list), then the
# other providers dns.provider has long named.
RECOGNISED = (
    DnsHost("route53", "Route 53", ("*.awsdns-*",)),
    DnsHost("digitalocean", "DigitalOcean", ("*.digitalocean.com",)),
    DnsHost("gandi", "Gandi", ("*.gandi.net",)),
    DnsHost("ovh", "OVH", ("*.ovh.net", "*.ovh.ca")),
    DnsHost("bluehost", "Bluehost", ("*.bluehost.com",)),
    DnsHost("hostgator", "HostGator", ("*.hostgator.com",)),
    DnsHost("enom", "eNom", ("*.name-services.com", "*.enom.com")),
    DnsHost("dynadot", "Dynadot", ("*.dyna-ns.net", "*.dynadot.com")),
    DnsHost("azure", "Azure DNS", ("*.azure-dns.com", "*.azure-dns.net", "*.azure-dns.org", "*.azure-dns.info")),
    # Cloud DNS serves from ns-cloud-*.googledomains.com; Google Domains from the rest of that domain.
    DnsHost("google", "Google Cloud DNS", ("ns-cloud-*.googledomains.com",)),
    DnsHost("google", "Google Domains", ("*.googledomains.com",)),
    DnsHost("hover", "Hover", ("*.hover.com",)),
    DnsHost("dreamhost", "DreamHost", ("*.dreamhost.com",)),
    DnsHost("linode", "Linode", ("*.linode.com",)),
    DnsHost("hetzner", "Hetzner", ("*.ns.hetzner.com", "*.ns.hetzner.de")),
    DnsHost("vultr", "Vultr", ("*.vultr.com",)),
    DnsHost("dnsimple", "DNSimple", ("*.dnsimple.com", "*.dnsimple-edge.net", "*.dnsimple-edge.org")),
    DnsHost("porkbun", "Porkbun", ("*.porkbun.com",)),
    DnsHost("ns1", "NS1", ("*.nsone.net",)),
    DnsHost("namecom", "Name.com", ("*.name.com",)),
    DnsHost("vercel", "Vercel", ("*.vercel-dns.com",)),
)

UNKNOWN = "unknown"


@lru_cache(maxsize=1)
def table() -> tuple[DnsHost, ...]:
    driven = tuple(
        DnsHost(name, label, tuple(importlib.import_module(f"{__package__}.{module}").NAMESERVERS))
        for name, module, label in DRIVEN
    )
    return driven + RECOGNISED


def host_of(nameserver: str) -> DnsHost | None:
    host = nameserver.strip().rstrip(".").lower()
    return next((entry for entry in table() if any(fnmatchcase(host, p) for p in entry.patterns)), None)


def identify(nameservers: Sequence[str]) -> DnsHost | None:
    """The provider every one of ``nameservers`` belongs to; None when unknown, mixed or empty."""
    found = {host_of(ns) for ns in nameservers}
    if len(found) != 1:
        return None
    return found.pop()
