"""SPF by mechanism (senderdomains/spf.py): verification accepts a merged record and refuses two,
and dns.set merges the email gateway's SPF into the user's record, for every provider."""
from __future__ import annotations

import pytest

from conftest import Accounts, Api
from octeth_domains.providers import ProviderError, Record, plan_changes
from octeth_domains.senderdomains import spf
from test_dns_commands import call, delegate, make_provider
from test_powerdns import PdnsServer, pdns  # noqa: F401  (the fixture)

OURS_SPF = "v=spf1 include:_spf.delivery.example ~all"
THEIRS = "v=spf1 include:_spf.other.example ~all"
MERGED = "v=spf1 include:_spf.other.example include:_spf.delivery.example ~all"


@pytest.mark.parametrize("txt, passes", [
    ([OURS_SPF], True),
    ([MERGED], True),
    (["v=spf1 ip4:192.0.2.1 +include:_SPF.delivery.example -all"], True),  # qualifier "+" and case
    (["v=spf1 include:_spf.delivery.example", "google-site-verification=x"], True),  # no all: still held
    ([THEIRS], False),
    ([THEIRS, OURS_SPF], False),  # two SPF records: SPF fails for every message
    (["v=spf1 -include:_spf.delivery.example ~all"], False),  # another qualifier is another mechanism
    (["v=spf1 ~all include:_spf.delivery.example"], False),  # after the all: never evaluated
    (["v=spf10 include:_spf.delivery.example ~all"], False),  # not an SPF record
    ([], False),
])
def test_matches(txt, passes):
    assert spf.matches(OURS_SPF, txt) is passes


@pytest.mark.parametrize("existing, merged", [
    (THEIRS, MERGED),
    (MERGED, MERGED),  # already there: unchanged
    ("v=spf1 include:_spf.other.example", "v=spf1 include:_spf.other.example include:_spf.delivery.example"),
    ("v=spf1 mx redirect=_spf.other.example", "v=spf1 mx include:_spf.delivery.example redirect=_spf.other.example"),
    ("v=spf1 a -all", "v=spf1 a include:_spf.delivery.example -all"),
])
def test_merge(existing, merged):
    assert spf.merge(existing, OURS_SPF) == merged
    assert spf.matches(OURS_SPF, [spf.merge(existing, OURS_SPF)])


def test_the_planner_updates_the_one_spf_record_in_place():
    theirs = Record("example.com", "TXT", THEIRS, 600, ref="r1")
    other_txt = Record("example.com", "TXT", "google-site-verification=x")
    wanted = [Record("example.com", "TXT", OURS_SPF)]
    changes = plan_changes(wanted, [theirs, other_txt])
    assert [(c.record.value, c.replaces) for c in changes] == [(MERGED, theirs)]
    assert changes[0].record.ttl == 600
    assert plan_changes(wanted, [Record("example.com", "TXT", MERGED), other_txt]) == []
    assert [c.replaces for c in plan_changes(wanted, [other_txt])] == [None]  # none yet: added
    with pytest.raises(ProviderError, match="already has 2 SPF records"):
        plan_changes(wanted, [theirs, Record("example.com", "TXT", "v=spf1 a ~all")])


GATEWAY_AS_CAMPAIGN = """
# A sender domain whose records are the built-in email gateway's, so that verify checks them.
[campaign.Default]
"mail._SenderDomain_" = ["CNAME", "gateway.delivery.example."]
"_SenderDomain_" = ["TXT", "v=spf1 include:_spf.delivery.example ~all"]
"""
START = [("example.com", "A", "192.0.2.10"), ("example.com", "MX", "10 mx1.example.net"),
         ("example.com", "TXT", THEIRS), ("example.com", "TXT", "google-site-verification=abc")]


def _apex_txt(entries):
    return sorted(value for name, rtype, value in entries if name == "example.com" and rtype == "TXT")


@pytest.mark.parametrize("name", ["cloudflare", "godaddy", "namecheap"])
def test_email_gateway_on_a_zone_with_an_spf_record(make_app, tmp_path, dns, name):
    provider = make_provider(name)
    try:
        templates = tmp_path / "templates.toml"
        templates.write_text(GATEWAY_AS_CAMPAIGN)
        host, port = dns.address
        app = make_app(OCTETH_DNS_TEMPLATES=str(templates), OCTETH_DNS_SERVERS=f"{host}:{port}",
                       OCTETH_DNS_TIMEOUT="1", OCTETH_PROVIDER_TIMEOUT="2", OCTETH_DELIVERY_HOST="delivery.example.",
                       **{provider.setting: provider.server.url}, **provider.extra_env)
        user = Accounts(app).user()
        delegate(dns, "example.com", name)
        provider.server.add_zone("example.com", START)
        params = {"Provider": name, "Domain": "example.com", "RecordType": "email-gateway", **provider.good}

        status, body = call(app, user["APIKey"], "dns.set", **params)
        assert (status, body) == (200, {"success": True, "Records": ["mail.example.com", "example.com"]})
        zone = provider.server.dump("example.com")
        assert _apex_txt(zone) == sorted([MERGED, "google-site-verification=abc"])  # one SPF, both includes
        assert [e for e in zone if e[1] in ("A", "MX")] == [e for e in START if e[1] in ("A", "MX")]
        assert ("mail.example.com", "CNAME", "gateway.delivery.example") in [
            (n, t, v.rstrip(".")) for n, t, v in zone]

        provider.server.clear_requests()
        assert call(app, user["APIKey"], "dns.set", **params)[1]["success"] is True
        assert provider.server.writes() == [] and provider.server.dump("example.com") == zone

        # What the provider now serves, served by DNS: the gateway's records verify.
        for entry_name, rtype, value in zone:
            if rtype in ("TXT", "CNAME"):
                dns.add_record(entry_name, rtype, value + ("." if rtype == "CNAME" else ""))
        api = Api(app, user["APIKey"])
        domain_id = api.create(SenderDomain="example.com")[1]["DomainID"]
        _, verified = api.verify(DomainID=domain_id)
        assert (verified["IsVerified"], verified["Status"]) == (True, "Enabled"), verified
    finally:
        provider.server.stop()


def test_email_gateway_on_powerdns(pdns: PdnsServer, make_app, tmp_path):  # noqa: F811
    """The same on a real DNS server: PowerDNS writes it, PowerDNS serves what verify reads."""
    pdns.api("PATCH", "/zones/example.com.", json={"rrsets": [{
        "name": "example.com.", "type": "TXT", "ttl": 3600, "changetype": "REPLACE",
        "records": [{"content": f'"{THEIRS}"', "disabled": False},
                    {"content": '"google-site-verification=abc"', "disabled": False}]}]})
    templates = tmp_path / "templates.toml"
    templates.write_text(GATEWAY_AS_CAMPAIGN)
    app = make_app(OCTETH_DNS_TEMPLATES=str(templates), OCTETH_DNS_SERVERS=f"127.0.0.1:{pdns.dns_port}",
                   OCTETH_DNS_TIMEOUT="2", OCTETH_POWERDNS_API_URL=pdns.api_url,
                   OCTETH_DELIVERY_HOST="delivery.example.")
    user = Accounts(app).user()
    params = {"Provider": "powerdns", "Domain": "example.com", "RecordType": "email-gateway", "Api_key": pdns.api_key}
    assert call(app, user["APIKey"], "dns.set", **params)[1] == {"success": True,
                                                                  "Records": ["mail.example.com", "example.com"]}
    assert sorted(pdns.query("example.com", "TXT")) == sorted([f'"{MERGED}"', '"google-site-verification=abc"'])
    serial = pdns.serial()
    assert call(app, user["APIKey"], "dns.set", **params)[1]["success"] is True
    assert pdns.serial() == serial  # nothing written the second time
    api = Api(app, user["APIKey"])
    domain_id = api.create(SenderDomain="example.com")[1]["DomainID"]
    _, verified = api.verify(DomainID=domain_id)
    assert (verified["IsVerified"], verified["Status"]) == (True, "Enabled"), verified
