"""user.senderdomain.dnshost (Octeth v5.9.4) against the loopback DNS server."""
from __future__ import annotations

import pytest

from conftest import Accounts
from helpers import insert_domain
from octeth_domains.providers.detect import provider_of
from octeth_domains.providers.nameservers import identify

ZONES = {
    "cf.example": (["ana.ns.cloudflare.com.", "bob.ns.cloudflare.com."], "Cloudflare"),
    "aws.example": (["ns-1234.awsdns-01.org.", "ns-77.awsdns-52.com."], "Route 53"),
    "gd.example": (["ns51.domaincontrol.com.", "ns52.domaincontrol.com."], "GoDaddy"),
    "hover.example": (["ns1.hover.com.", "ns2.hover.com."], "Hover"),
    "gcloud.example": (["ns-cloud-a1.googledomains.com.", "ns-cloud-a2.googledomains.com."], "Google Cloud DNS"),
    "azure.example": (["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net."], "Azure DNS"),
    "boutique.example": (["ns1.boutique-host.example.", "ns2.boutique-host.example."], "unknown"),
    "mixed.example": (["ana.ns.cloudflare.com.", "ns51.domaincontrol.com."], "unknown"),
}


def _publish(dns, zone, nameservers):
    dns.add_zone(zone)
    dns.set_record(zone, "NS", nameservers[0])
    for ns in nameservers[1:]:
        dns.add_record(zone, "NS", ns)


def _dnshost(app, user, domain_id):
    response = app.test_client().get("/api/v1/user.senderdomain.dnshost",
                                     query_string={"APIKey": user["APIKey"], "DomainID": domain_id})
    return response.status_code, response.get_json()


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_labels(domain_app, dns, zone):
    nameservers, label = ZONES[zone]
    _publish(dns, zone, nameservers)
    user = Accounts(domain_app).user()
    domain_id = insert_domain(domain_app, user["UserID"], f"news.{zone}")  # the apex's NS answer
    assert _dnshost(domain_app, user, domain_id) == (200, {
        "Success": True, "DomainID": domain_id, "SenderDomain": f"news.{zone}", "DnsHost": label,
        "Nameservers": sorted(ns.rstrip(".") for ns in nameservers)})


def test_a_zone_that_does_not_answer_is_unknown_with_no_name_servers(domain_app, dns):
    _publish(dns, "cf.example", ZONES["cf.example"][0])
    dns.silent = True
    user = Accounts(domain_app).user()
    domain_id = insert_domain(domain_app, user["UserID"], "cf.example")
    status, body = _dnshost(domain_app, user, domain_id)
    assert (status, body["DnsHost"], body["Nameservers"]) == (200, "unknown", [])


def test_a_name_in_no_zone_is_unknown(domain_app, dns):
    user = Accounts(domain_app).user()
    domain_id = insert_domain(domain_app, user["UserID"], "nowhere.invalid")
    assert _dnshost(domain_app, user, domain_id)[1]["DnsHost"] == "unknown"


def test_a_second_call_within_the_hour_asks_dns_nothing(domain_app, dns):
    _publish(dns, "cf.example", ZONES["cf.example"][0])
    user = Accounts(domain_app).user()
    domain_id = insert_domain(domain_app, user["UserID"], "cf.example")
    first = _dnshost(domain_app, user, domain_id)
    assert first[1]["DnsHost"] == "Cloudflare" and dns.queries
    dns.queries.clear()
    dns.set_record("cf.example", "NS", "ns51.domaincontrol.com.")  # moved: not seen within the hour
    assert _dnshost(domain_app, user, domain_id) == first
    assert dns.queries == []


def test_codes_1_and_2(domain_app):
    user, other = Accounts(domain_app).user(), Accounts(domain_app).user()
    theirs = insert_domain(domain_app, other["UserID"], "cf.example")
    body = domain_app.test_client().get("/api/v1/user.senderdomain.dnshost",
                                        query_string={"APIKey": user["APIKey"]}).get_json()
    assert body["Errors"][0]["Code"] == 1
    for bad in (theirs, 999999, "12abc"):
        assert _dnshost(domain_app, user, bad)[1]["Errors"][0]["Code"] == 2


def test_one_table_serves_dns_provider_too():
    assert provider_of(["ana.ns.cloudflare.com", "bob.ns.cloudflare.com"]) == "cloudflare"
    assert provider_of(["ns-1.awsdns-01.org"]) == "route53"
    assert provider_of(["ana.ns.cloudflare.com", "ns51.domaincontrol.com"]) is None
    assert identify(["dns1.registrar-servers.com."]).label == "Namecheap"
    assert identify([]) is None
