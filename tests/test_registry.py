"""The provider registry (issue 14): one module per provider. Detection of every provider in it
against the loopback DNS server, the order-free rules of merging and matching, the operator's
own modules through OCTETH_PROVIDER_MODULES (the README's "Adding a provider", followed by
tests/example_provider.py), a missing extra, and the generated tables."""
from __future__ import annotations

import random
import re

import pytest

from conftest import Accounts, Api
from helpers import insert_domain
from octeth_domains import config
from octeth_domains.providers import ProviderInfo, registry, tables
from provider_servers import UNRELATED
from provider_servers.exampledns import FakeExampleDNS

TOKEN, ACCOUNT = "exTokenS3cretValue_77", "acme-account"
#: The labels of Octeth v5.9.4's dnshost list, which must stay exactly as they are.
OCTETH_LABELS = ["Cloudflare", "Route 53", "GoDaddy", "Namecheap", "DigitalOcean", "Gandi", "OVH", "Bluehost",
                 "HostGator", "eNom", "Dynadot", "Azure DNS", "Google Domains", "Google Cloud DNS", "Hover",
                 "DreamHost", "Linode"]


def host_for(pattern: str) -> str:
    """A name server host that the pattern matches."""
    return pattern.replace("*", "ns1").replace("?", "a")


def error(code, message):
    return {"Success": False, "ErrorCode": [code], "ErrorText": [message], "Errors": [{"Code": code, "Message": message}]}


def call(app, api_key, command, **params):
    response = app.test_client().post(f"/api/v1/{command}", json={"APIKey": api_key, **params})
    return response.status_code, response.get_json()


@pytest.fixture
def app_for(make_app, templates_file, dns):
    host, port = dns.address

    def make(**env):
        return make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                        OCTETH_DNS_TIMEOUT="1", OCTETH_PROVIDER_TIMEOUT="2", **env)

    return make


# Detection of every provider in the registry ----------------------------------------------------

def test_every_provider_in_the_registry_is_detected_from_its_name_servers(app_for, dns):
    """Generated from the registry: a new module is covered without touching this test."""
    app = app_for()
    providers = app.extensions["octeth_providers"]
    assert {"cloudflare", "godaddy", "namecheap", "route53", "hover"} <= set(providers)
    user = Accounts(app).user()
    wrong = []
    for info in providers.values():
        if not info.nameservers:
            continue  # PowerDNS: the operator's own server, which no public name server names
        zone = f"{info.name}-zone.example"
        dns.add_zone(zone)
        dns.set_record(zone, "NS", host_for(info.nameservers[0]) + ".")
        dns.add_record(zone, "NS", host_for(info.nameservers[-1]).replace("ns1", "ns2", 1) + ".")
        found = call(app, user["APIKey"], "dns.provider", Domain=f"news.{zone}")[1]
        domain_id = insert_domain(app, user["UserID"], zone)
        label = app.test_client().get("/api/v1/user.senderdomain.dnshost", query_string={
            "APIKey": user["APIKey"], "DomainID": domain_id}).get_json()["DnsHost"]
        if found != {"provider": info.name} or label != info.label:
            wrong.append((info.name, found, label))
        if not info.drivable:  # named, then refused with code 8
            refused = call(app, user["APIKey"], "dns.authorize", Domain=zone, Provider=info.name, Api_key="k")[1]
            if refused != error(8, f"Unsupported provider: {info.name}"):
                wrong.append((info.name, refused))
    assert wrong == []
    assert [name for name, info in providers.items() if not info.nameservers] == ["powerdns"]


def test_octeths_dnshost_labels_are_kept():
    labels = {info.label for info in registry.load().values()}
    assert [label for label in OCTETH_LABELS if label not in labels] == []


def test_the_most_particular_pattern_wins_whatever_the_order():
    providers = list(registry.load().values())
    for seed in range(5):
        random.Random(seed).shuffle(providers)
        shuffled = {info.name: info for info in providers}
        assert registry.identify(["ns-cloud-a1.googledomains.com"], shuffled).label == "Google Cloud DNS"
        assert registry.identify(["ns1.googledomains.com"], shuffled).label == "Google Domains"
    broad = ProviderInfo("broad", "Broad", ("*.example-dns.test",))
    narrow = ProviderInfo("narrow", "Narrow", ("eu-*.example-dns.test",))
    for order in ((broad, narrow), (narrow, broad)):
        table = {info.name: info for info in order}
        assert registry.host_of("eu-1.example-dns.test", table) is narrow
        assert registry.host_of("us-1.example-dns.test", table) is broad
        assert registry.identify(["eu-1.example-dns.test", "us-1.example-dns.test"], table) is None  # mixed


def test_a_provider_the_service_drives_wins_over_one_it_only_recognises_in_any_order():
    recognised = ProviderInfo("hover", "Hover", ("*.hover.com",))
    driven = ProviderInfo("hover", "Hover", ("*.hover.com",), client=object)
    assert registry.merge([recognised, driven])["hover"] is driven
    assert registry.merge([driven, recognised])["hover"] is driven  # e.g. digitalocean.py < recognised.py
    mine = ProviderInfo("hover", "Hover", ("*.hover.com",), client=dict)
    assert registry.merge([driven, mine])["hover"] is mine  # an operator's later module replaces it


# The operator's own modules ---------------------------------------------------------------------

@pytest.mark.parametrize("modules, named", [("no_such_module_anywhere", "no_such_module_anywhere"),
                                            ("example_provider,../etc/passwd", "../etc/passwd"),
                                            ("os.path..join", "os.path..join"),
                                            ("example_provider, json", "json defines no PROVIDER")])
def test_a_provider_module_that_cannot_be_loaded_stops_the_start(modules, named):
    with pytest.raises(config.ConfigError, match=re.escape(named)):
        config.load_providers({"OCTETH_PROVIDER_MODULES": modules})


@pytest.fixture
def exampledns():
    server = FakeExampleDNS(accounts={(TOKEN, ACCOUNT): {"example.com"}}).start()
    server.add_zone("example.com", [*UNRELATED, ("sl.example.com", "CNAME", "old-target.example")])
    yield server
    server.stop()


@pytest.fixture
def example_app(app_for, dns, exampledns):
    dns.add_zone("example.com")
    dns.set_record("example.com", "NS", "ns1.ns.exampledns.test.")
    dns.add_record("example.com", "NS", "ns2.ns.exampledns.test.")
    return app_for(OCTETH_PROVIDER_MODULES="example_provider", OCTETH_EXAMPLEDNS_API_URL=exampledns.url)


def test_a_provider_of_the_test_suite_alone_works_through_every_command(example_app, exampledns):
    """The README's steps followed: one module, named in OCTETH_PROVIDER_MODULES, its URL set."""
    app = example_app
    assert app.config["OCTETH_EXAMPLEDNS_API_URL"] == exampledns.url
    user = Accounts(app).user(dns_template="Full")
    key = user["APIKey"]
    assert call(app, key, "dns.provider", Domain="example.com") == (200, {"provider": "exampledns"})
    good = {"Provider": "exampledns", "Domain": "example.com", "Api_key": TOKEN, "Username": ACCOUNT}
    assert call(app, key, "dns.authorize", **good) == (200, {"success": True})
    refused = call(app, key, "dns.authorize", **{**good, "Api_key": "wrongSecretValue99"})[1]["Errors"][0]
    assert refused["Code"] == 4 and "wrongSecretValue99" not in refused["Message"]
    assert call(app, key, "dns.authorize", **{**good, "Username": None})[1] == error(7, "Missing username parameter")

    _, created = Api(app, key).create(SenderDomain="example.com")
    records = created["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    status, body = call(app, key, "dns.set", RecordType="campaign", **good)
    assert (status, body["success"], sorted(body["Records"])) == (200, True, sorted(records))
    zone = exampledns.dump("example.com")
    for entry in UNRELATED:
        assert entry in zone  # byte for byte
    assert [e for e in zone if e[0] == "sl.example.com"] == [("sl.example.com", "CNAME", records["sl.example.com"][1])]
    assert len(zone) == len(UNRELATED) + len(records)
    assert not [seen for seen in exampledns.requests if seen.method == "DELETE"]

    exampledns.clear_requests()
    assert call(app, key, "dns.set", RecordType="campaign", **good)[1]["success"] is True
    assert exampledns.writes() == [] and exampledns.dump("example.com") == zone  # a second run writes nothing
    pages = -(-len(zone) // exampledns.per_page)  # every page read: the zone, then its records
    assert pages > 1 and [seen.query.get("page") for seen in exampledns.requests] == [
        None, *(str(page) for page in range(1, pages + 1))]


def test_a_provider_module_is_known_only_where_it_is_named(app_for, dns):
    app = app_for()
    key = Accounts(app).user()["APIKey"]
    dns.add_zone("example.com")
    dns.set_record("example.com", "NS", "ns1.ns.exampledns.test.")
    assert call(app, key, "dns.provider", Domain="example.com")[1]["Errors"][0]["Code"] == 2
    assert call(app, key, "dns.authorize", Domain="example.com", Provider="exampledns", Api_key="k",
                Username="u")[1] == error(8, "Unsupported provider: exampledns")
    assert "OCTETH_EXAMPLEDNS_API_URL" not in app.config


def test_a_client_whose_extra_is_not_installed_is_code_8_naming_the_extra(app_for, dns):
    app = app_for(OCTETH_PROVIDER_MODULES="extra_missing_provider")
    key = Accounts(app).user()["APIKey"]
    dns.add_zone("example.com")
    dns.set_record("example.com", "NS", "ns1.examplecloud-dns.test.")
    assert call(app, key, "dns.provider", Domain="example.com") == (200, {"provider": "examplecloud"})
    message = "Unsupported provider: examplecloud (install the extra: pip install octeth-domains[examplecloud])"
    params = {"Domain": "example.com", "Provider": "examplecloud", "Api_key": "AKIAEXAMPLE", "Api_secret": "s"}
    assert call(app, key, "dns.authorize", **params) == (200, error(8, message))
    assert call(app, key, "dns.set", RecordType="campaign", **params) == (200, error(8, message))
    # Before the credentials: no credentials will do while the extra is missing.
    assert call(app, key, "dns.authorize", **{**params, "Api_secret": None}) == (200, error(8, message))
    # The page does not offer it.
    with app.app_context():
        from octeth_domains.web.autosetup import _available
        assert "examplecloud" not in _available() and "cloudflare" in _available()


# The generated documents ------------------------------------------------------------------------

def test_the_readme_table_and_the_settings_are_generated_from_the_registry():
    for path, text in tables.documents().items():
        assert path.read_text() == text, f"{path.name} is stale: run `octeth-domains docs`"
    table = tables.provider_table(registry.load())
    assert "| `godaddy` | GoDaddy | `Api_key`: API key; `Api_secret`: API secret | `*.domaincontrol.com` |" in table
    assert "| `route53` | Route 53 |" in table
    mine = registry.load(["example_provider"])
    assert "`Api_key`: Access token; `Username`: Account name" in tables.provider_table(mine)
    assert "| `OCTETH_EXAMPLEDNS_API_URL` | `https://api.exampledns.test/v1` |" in tables.settings_table(mine)


def test_every_provider_module_declares_what_the_page_and_the_docs_need():
    for info in registry.load().values():
        assert info.name == info.name.lower() and re.fullmatch(r"[a-z0-9]+", info.name), info.name
        assert info.label
        if info.drivable:
            assert info.credentials and info.credentials[0].attribute == "key", info.name  # code 2 comes first
            assert info.where and "://" not in info.where and "www." not in info.where, info.name
            assert all(needed.label for needed in info.credentials), info.name


def test_every_public_name_is_importable_from_the_package():
    """What provider modules import, whichever module of one concern now holds it."""
    from octeth_domains import providers

    for name in ("AuthorizationFailed", "Change", "Credentials", "Provider", "ProviderError", "Record",
                 "plan_changes", "relative_name", "absolute_name", "parse_txt", "quote_txt", "scrub",
                 "written_hosts", "ProviderInfo", "Credential", "ExtraMissing", "HttpClient"):
        assert getattr(providers, name) is not None and name in providers.__all__, name
    assert providers.Provider.__module__ == "octeth_domains.providers.base"
    assert providers.plan_changes.__module__ == "octeth_domains.providers.planner"
    assert issubclass(providers.ExtraMissing, ImportError)
