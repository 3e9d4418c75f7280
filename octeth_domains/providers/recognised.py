"""The providers the service recognises by their name servers but cannot drive, so that a user
learns who hosts their DNS (``dns.provider`` names them; ``dns.authorize``/``dns.set`` answer
code 8). The labels are the ones Octeth's ``user.senderdomain.dnshost`` shows (its v5.9.4 list
first, kept exactly), then other providers ``dns.provider`` has long named.

A module that drives one of these (``digitalocean.py``) registers the same name and wins over
the entry here, whatever the order of loading (:func:`.registry.merge`); it should keep the label
and the patterns given here, which the detection tests hold it to.
"""
from __future__ import annotations

from .registry import ProviderInfo


def _recognised(name: str, label: str, *nameservers: str) -> ProviderInfo:
    return ProviderInfo(name=name, label=label, nameservers=nameservers, client=None)


PROVIDERS = (
    _recognised("route53", "Route 53", "*.awsdns-*"),
    _recognised("digitalocean", "DigitalOcean", "*.digitalocean.com"),
    _recognised("gandi", "Gandi", "*.gandi.net"),
    _recognised("ovh", "OVH", "*.ovh.net", "*.ovh.ca"),
    _recognised("bluehost", "Bluehost", "*.bluehost.com"),
    _recognised("hostgator", "HostGator", "*.hostgator.com"),
    _recognised("enom", "eNom", "*.name-services.com", "*.enom.com"),
    _recognised("dynadot", "Dynadot", "*.dyna-ns.net", "*.dynadot.com"),
    _recognised("azure", "Azure DNS", "*.azure-dns.com", "*.azure-dns.net", "*.azure-dns.org", "*.azure-dns.info"),
    # Both under googledomains.com: Cloud DNS serves from ns-cloud-*, Google Domains from the
    # rest; the more particular pattern wins. Two names, since one name has one label.
    _recognised("googlecloud", "Google Cloud DNS", "ns-cloud-*.googledomains.com"),
    _recognised("google", "Google Domains", "*.googledomains.com"),
    _recognised("hover", "Hover", "*.hover.com"),
    _recognised("dreamhost", "DreamHost", "*.dreamhost.com"),
    _recognised("linode", "Linode", "*.linode.com"),
    _recognised("hetzner", "Hetzner", "*.ns.hetzner.com", "*.ns.hetzner.de"),
    _recognised("vultr", "Vultr", "*.vultr.com"),
    _recognised("dnsimple", "DNSimple", "*.dnsimple.com", "*.dnsimple-edge.net", "*.dnsimple-edge.org"),
    _recognised("porkbun", "Porkbun", "*.porkbun.com"),
    _recognised("ns1", "NS1", "*.nsone.net"),
    _recognised("namecom", "Name.com", "*.name.com"),
    _recognised("vercel", "Vercel", "*.vercel-dns.com"),
)
