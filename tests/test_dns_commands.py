"""dns.provider, dns.authorize and dns.set through the API (seed 003, SPEC §7), against a real
DNS server on loopback and local servers that behave like each provider's public API."""
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from conftest import Accounts, Api
from provider_servers import UNRELATED
from provider_servers.cloudflare import FakeCloudflare
from provider_servers.godaddy import FakeGoDaddy
from provider_servers.namecheap import FakeNamecheap

CF_TOKEN = "cfTokenS3cretValue_0123456789"
GD_KEY, GD_SECRET = "gdKeyS3cretValue42", "gdSecretS3cretValue42"
NC_KEY, NC_USER = "ncKey+S3cret/Value=42", "ncApiUserS3cret"
SECRETS = [CF_TOKEN, GD_KEY, GD_SECRET, NC_KEY, NC_USER, "wrongSecretValue99"]
CLIENT_IP = "198.51.100.7"
NAMESERVERS = {"cloudflare": "ana.ns.cloudflare.com.", "godaddy": "ns51.domaincontrol.com.",
               "namecheap": "dns1.registrar-servers.com."}


@dataclass
class Provider:
    name: str
    server: Any
    good: dict[str, str]
    bad: dict[str, str]
    setting: str
    extra_env: dict[str, str] = field(default_factory=dict)

    def zone(self, domain="example.com"):
        return sorted((n.lower().rstrip("."), t, v.rstrip(".").lower() if t in ("CNAME", "MX") else v)
                      for n, t, v in self.server.dump(domain))


def make_provider(name):
    if name == "cloudflare":
        server = FakeCloudflare(tokens={CF_TOKEN: None}).start()
        return Provider(name, server, {"Api_key": CF_TOKEN}, {"Api_key": "wrongSecretValue99"},
                        "OCTETH_CLOUDFLARE_API_URL")
    if name == "godaddy":
        server = FakeGoDaddy(keys={(GD_KEY, GD_SECRET): "1000"}).start()
        return Provider(name, server, {"Api_key": GD_KEY, "Api_secret": GD_SECRET},
                        {"Api_key": GD_KEY, "Api_secret": "wrongSecretValue99"}, "OCTETH_GODADDY_API_URL")
    server = FakeNamecheap(users={NC_USER: {"key": NC_KEY, "username": NC_USER, "ips": {CLIENT_IP}}}).start()
    server.url += "/xml.response"
    return Provider(name, server, {"Api_key": NC_KEY, "Api_user": NC_USER, "Useranem": NC_USER},
                    {"Api_key": "wrongSecretValue99", "Api_user": NC_USER, "Useranem": NC_USER},
                    "OCTETH_NAMECHEAP_API_URL", {"OCTETH_NAMECHEAP_CLIENT_IP": CLIENT_IP})


@pytest.fixture(params=["cloudflare", "godaddy", "namecheap"])
def provider(request):
    provider = make_provider(request.param)
    yield provider
    provider.server.stop()


def delegate(dns, zone, provider_name):
    dns.add_zone(zone)
    dns.set_record(zone, "NS", NAMESERVERS[provider_name])
    dns.add_record(zone, "NS", NAMESERVERS[provider_name].replace("ana.", "bob.").replace("51", "52")
                   .replace("dns1", "dns2"))


@pytest.fixture
def app_for(make_app, templates_file, dns):
    host, port = dns.address

    def make(provider=None, **env):
        settings = {"OCTETH_DNS_TEMPLATES": str(templates_file), "OCTETH_DNS_SERVERS": f"{host}:{port}",
                    "OCTETH_DNS_TIMEOUT": "1", "OCTETH_PROVIDER_TIMEOUT": "2", **env}
        if provider is not None:
            settings[provider.setting] = provider.server.url
            settings.update(provider.extra_env)
        return make_app(**settings)

    return make


def call(app, api_key, command, method="POST", **params):
    client = app.test_client()
    if method == "GET":  # as the seed's curl examples: GET with a JSON body
        response = client.open(f"/api/v1/{command}", method="GET", json={"APIKey": api_key, **params})
    else:
        response = client.post(f"/api/v1/{command}", json={"APIKey": api_key, **params})
    return response.status_code, response.get_json()


def error(code, message):
    return {"Success": False, "ErrorCode": [code], "ErrorText": [message], "Errors": [{"Code": code, "Message": message}]}


# dns.provider -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cloudflare", "godaddy", "namecheap"])
@pytest.mark.parametrize("domain", ["example.com", "sl.mail.example.com"])
def test_provider_is_found_from_the_zones_name_servers(app_for, dns, name, domain):
    app = app_for()
    user = Accounts(app).user()
    delegate(dns, "example.com", name)
    assert call(app, user["APIKey"], "dns.provider", "GET", Domain=domain) == (200, {"provider": name})


def test_provider_seed_example_with_a_session(app_for, dns):
    app = app_for()
    user = Accounts(app).user()
    delegate(dns, "exampledomain.com", "namecheap")
    session = app.test_client().post("/api/v1/user.login", json={"Username": user["Username"],
                                                                 "Password": user["Password"]}).get_json()
    response = app.test_client().open("/api/v1/dns.provider", method="GET",
                                      json={"SessionID": session["SessionID"], "Domain": "exampledomain.com"})
    assert response.get_json() == {"provider": "namecheap"}


def test_unknown_or_unresolvable_provider_is_code_2(app_for, dns):
    app = app_for()
    key = Accounts(app).user()["APIKey"]
    dns.add_zone("elsewhere.example")
    dns.set_record("elsewhere.example", "NS", "ns1.some-small-host.example.")
    message = "Unable to determine DNS provider for this domain"
    assert call(app, key, "dns.provider", Domain="elsewhere.example") == (200, error(2, message))
    assert call(app, key, "dns.provider", Domain="not-delegated.example") == (200, error(2, message))
    assert call(app, key, "dns.provider", Domain="not a domain") == (200, error(2, message))
    assert call(app, key, "dns.provider") == (200, error(1, "Missing Domain parameter"))


def test_providers_we_cannot_drive_are_named_and_refused_with_8(app_for, dns):
    app = app_for()
    key = Accounts(app).user()["APIKey"]
    dns.add_zone("hover.example")
    dns.set_record("hover.example", "NS", "ns1.hover.com.")
    assert call(app, key, "dns.provider", Domain="hover.example") == (200, {"provider": "hover"})
    assert call(app, key, "dns.authorize", Domain="hover.example", Provider="hover", Api_key="k") == (
        200, error(8, "Unsupported provider: hover"))
    assert call(app, key, "dns.set", Domain="hover.example", Provider="Hover", Api_key="k", RecordType="campaign") == (
        200, error(8, "Unsupported provider: Hover"))  # named as the caller spelled it


# dns.authorize / dns.set parameter rules --------------------------------------------------------

@pytest.mark.parametrize("command", ["dns.authorize", "dns.set"])
def test_parameter_codes(app_for, command):
    app = app_for()
    key = Accounts(app).user()["APIKey"]
    base = {"Domain": "example.com", "Api_key": "k", "Provider": "godaddy", "Record_type": "campaign"}

    def without(*names, **extra):
        return {k: v for k, v in {**base, **extra}.items() if k not in names}

    assert call(app, key, command, **without("Domain"))[1]["Errors"][0]["Code"] == 1
    assert call(app, key, command, **without("Api_key"))[1] == error(2, "Missing API key parameter")
    assert call(app, key, command, **without("Provider"))[1] == error(3, "Missing provider parameter")
    assert call(app, key, command, **without(Provider="dnsmadeeasy"))[1] == error(8, "Unsupported provider: dnsmadeeasy")
    assert call(app, key, command, **without())[1] == error(5, "Missing API secret parameter")
    assert call(app, key, command, **without(Provider="namecheap"))[1] == error(6, "Missing API user parameter")
    assert call(app, key, command, **without(Provider="namecheap", Api_user="u"))[1] == error(
        7, "Missing username parameter")
    if command == "dns.set":
        message = 'Missing record type parameter (e.g. "campaign", "email-gateway")'
        assert call(app, key, command, **without("Record_type", Provider="cloudflare"))[1] == error(4, message)
        # A value it does not know says which it knows, still code 4.
        allowed = "Invalid record type 'web': allowed values are 'campaign' and 'email-gateway'"
        assert call(app, key, command, **without(Provider="cloudflare", Record_type="web"))[1] == error(4, allowed)


def test_powerdns_without_a_configured_url_is_unsupported(app_for):
    app = app_for()
    key = Accounts(app).user()["APIKey"]
    assert call(app, key, "dns.set", Domain="example.com", Provider="powerdns", Api_key="k",
                RecordType="campaign") == (200, error(8, "Unsupported provider: powerdns"))


def test_apikey_is_the_providers_key_only_for_callers_who_authenticated_otherwise(app_for, dns):
    provider = make_provider("cloudflare")
    try:
        app = app_for(provider)
        user = Accounts(app).user()
        delegate(dns, "example.com", "cloudflare")
        provider.server.add_zone("example.com", UNRELATED)
        client = app.test_client()
        # Bearer header: ApiKey is the provider's token.
        response = client.post("/api/v1/dns.authorize", headers={"Authorization": "Bearer " + user["APIKey"]},
                               json={"Domain": "example.com", "Provider": "cloudflare", "ApiKey": CF_TOKEN})
        assert response.get_json() == {"success": True}
        # APIKey authenticates: it is not also the provider's key, which must then be Api_key.
        response = client.post("/api/v1/dns.authorize", json={"APIKey": user["APIKey"], "Domain": "example.com",
                                                               "Provider": "cloudflare"})
        assert response.get_json()["Errors"][0]["Code"] == 2
    finally:
        provider.server.stop()


# against each provider --------------------------------------------------------------------------

@pytest.fixture
def setup(app_for, dns, provider):
    app = app_for(provider)
    user = Accounts(app).user(dns_template="Full")
    delegate(dns, "example.com", provider.name)
    provider.server.add_zone("example.com", UNRELATED)
    _, created = Api(app, user["APIKey"]).create(SenderDomain="example.com")
    records = created["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    return app, user, records


def set_records(app, user, provider, **extra):
    params = {"Provider": provider.name, "Domain": "example.com", "Record_type": "campaign", **provider.good, **extra}
    return call(app, user["APIKey"], "dns.set", "GET", **params)


def test_authorize_with_good_and_wrong_credentials(setup, provider):
    app, user, _ = setup
    assert call(app, user["APIKey"], "dns.authorize", "GET", Provider=provider.name, Domain="example.com",
                **provider.good) == (200, {"success": True})
    status, body = call(app, user["APIKey"], "dns.authorize", Provider=provider.name, Domain="example.com",
                        **provider.bad)
    assert status == 200 and body["Errors"][0]["Code"] == 4
    assert body["Errors"][0]["Message"].startswith("Authorization failed for this DNS provider")


def test_set_publishes_ours_and_keeps_everything_else(setup, provider):
    app, user, records = setup
    status, body = set_records(app, user, provider)
    assert status == 200 and body["success"] is True
    assert sorted(body["Records"]) == sorted(records)
    zone = provider.zone()
    for entry in UNRELATED:
        expected = (entry[0], entry[1], entry[2].rstrip(".").lower() if entry[1] in ("CNAME", "MX") else entry[2])
        assert expected in zone, (expected, zone)
    for host, (kind, value) in records.items():
        wanted = value.rstrip(".").lower() if kind == "CNAME" else value
        assert (host.lower(), kind, wanted) in zone, (host, zone)
    assert len(zone) == len(UNRELATED) + len(records)
    assert [seen for seen in provider.server.requests if seen.method == "DELETE"] == []  # never asked to delete


def test_a_head_of_dns_set_publishes_nothing(setup, provider):
    # A link checker or a prefetcher sends HEAD; dns.set takes GET on the REST door (with a JSON
    # body, or the query string), and HEAD must not be its way in.
    app, user, _ = setup
    before = provider.zone()
    params = {"APIKey": user["APIKey"], "Provider": provider.name, "Domain": "example.com",
              "Record_type": "campaign", **provider.good}
    for response in (app.test_client().head("/api/v1/dns.set", query_string=params),
                     app.test_client().open("/api/v1/dns.set", method="HEAD", json=params),
                     app.test_client().head("/api.php", query_string={"Command": "dns.set", **params})):
        assert response.status_code == 400
    assert provider.server.writes() == [] and provider.zone() == before


def test_a_second_set_changes_nothing(setup, provider):
    app, user, _ = setup
    set_records(app, user, provider)
    before = provider.zone()
    provider.server.clear_requests()
    status, body = set_records(app, user, provider)
    assert status == 200 and body["success"] is True
    assert provider.server.writes() == [] and provider.zone() == before


def test_our_cname_with_another_target_is_updated_in_place(setup, provider):
    app, user, records = setup
    provider.server.add_zone("example.com", [*UNRELATED, ("sl.example.com", "CNAME", "old-target.example")])
    set_records(app, user, provider)
    zone = provider.zone()
    assert [entry for entry in zone if entry[0] == "sl.example.com"] == [
        ("sl.example.com", "CNAME", records["sl.example.com"][1].rstrip(".").lower())]


def test_wrong_credentials_on_set_are_code_9(setup, provider):
    app, user, _ = setup
    before = provider.zone()
    status, body = call(app, user["APIKey"], "dns.set", Provider=provider.name, Domain="example.com",
                        Record_type="campaign", **provider.bad)
    assert status == 200 and body["Errors"][0]["Code"] == 9
    assert body["Errors"][0]["Message"].startswith("Failed to set DNS records for this domain")
    assert provider.zone() == before


UNUSABLE_VALUES = ["\u00e9\u4e2d", "caf\u00e9", "abc\r\nX-Injected: 1", "abc\x00def", "ab\tcd"]


@pytest.mark.parametrize("value", UNUSABLE_VALUES)
def test_a_credential_no_provider_could_accept_is_named_and_nothing_is_sent(setup, provider, value):
    app, user, _ = setup
    before = provider.zone()
    provider.server.clear_requests()
    # Each credential this provider takes, one at a time, spoilt with the same characters.
    for name in provider.good:
        spoilt = {**provider.good, name: value}
        status, body = call(app, user["APIKey"], "dns.authorize", Provider=provider.name, Domain="example.com", **spoilt)
        assert status == 200 and body["Errors"][0]["Code"] == 4, body
        message = body["Errors"][0]["Message"]
        assert message.startswith("Authorization failed for this DNS provider: the ") and "printable ASCII" in message
        status, body = call(app, user["APIKey"], "dns.set", Provider=provider.name, Domain="example.com",
                            Record_type="campaign", **spoilt)
        assert status == 200 and body["Errors"][0]["Code"] == 9, body
        assert body["Errors"][0]["Message"].startswith("Failed to set DNS records for this domain: the ")
        assert value not in json.dumps(body, ensure_ascii=False)
    assert provider.server.requests == [] and provider.zone() == before


def test_a_pasted_credential_with_its_line_break_still_works(setup, provider):
    app, user, records = setup
    pasted = {name: f"  {value}\r\n" for name, value in provider.good.items()}
    assert call(app, user["APIKey"], "dns.authorize", Provider=provider.name, Domain="example.com",
                **pasted) == (200, {"success": True})
    status, body = set_records(app, user, provider, **pasted)
    assert status == 200 and body["success"] is True and sorted(body["Records"]) == sorted(records)


def test_a_provider_that_fails_twice_then_answers(setup, provider):
    app, user, records = setup
    provider.server.fail(2, status=500)
    status, body = set_records(app, user, provider)
    assert (status, body["success"]) == (200, True)
    assert all(host.lower() in {entry[0] for entry in provider.zone()} for host in records)


def test_a_provider_that_never_answers_is_code_9_within_the_timeout(setup, provider):
    app, user, _ = setup
    provider.server.hang(50)
    started = time.monotonic()
    status, body = set_records(app, user, provider)
    assert time.monotonic() - started < 6  # OCTETH_PROVIDER_TIMEOUT=2, and a timeout is not retried
    assert status == 200 and body["Errors"][0]["Code"] == 9


def test_set_needs_one_of_the_callers_sender_domains(app_for, dns, provider):
    app = app_for(provider)
    user = Accounts(app).user()
    delegate(dns, "example.com", provider.name)
    provider.server.add_zone("example.com", UNRELATED)
    status, body = set_records(app, user, provider)
    assert body["Errors"][0]["Code"] == 9 and "not one of your sender domains" in body["Errors"][0]["Message"]
    other = Accounts(app).user()
    Api(app, other["APIKey"]).create(SenderDomain="example.com")
    assert set_records(app, user, provider)[1]["Errors"][0]["Code"] == 9  # someone else's is not yours


def test_email_gateway_records(app_for, dns, provider):
    app = app_for(provider)
    user = Accounts(app).user()
    delegate(dns, "example.com", provider.name)
    provider.server.add_zone("example.com", UNRELATED)
    status, body = set_records(app, user, provider, Record_type="email-gateway")
    assert body == {"success": True, "Records": ["sl.example.com"]}
    assert ("sl.example.com", "CNAME", "gateway.delivery.example") in provider.zone()


def test_email_gateway_refuses_a_host_the_callers_campaign_domain_holds(app_for, dns, provider):
    # The operator's templates (conftest's) put both at sl.<domain>: the gateway must not rewrite
    # the campaign CNAME that the next campaign run would flip back.
    app = app_for(provider)
    user = Accounts(app).user()
    delegate(dns, "example.com", provider.name)
    provider.server.add_zone("example.com", UNRELATED)
    Api(app, user["APIKey"]).create(SenderDomain="example.com")
    before = sorted(provider.zone())
    status, body = set_records(app, user, provider, Record_type="email-gateway")
    assert status == 200 and body["Errors"][0]["Code"] == 9 and "sl.example.com" in body["Errors"][0]["Message"]
    assert sorted(provider.zone()) == before  # nothing was written
    # Another user's sender domain of that name is none of this caller's business.
    other = Accounts(app).user()
    assert set_records(app, other, provider, Record_type="email-gateway")[1]["success"] is True


def test_namecheap_splits_a_multi_label_suffix(app_for, dns):
    provider = make_provider("namecheap")
    try:
        app = app_for(provider)
        user = Accounts(app).user()
        delegate(dns, "example.co.uk", "namecheap")
        provider.server.add_zone("example.co.uk", [("example.co.uk", "MX", "10 mx.example.net")], email_type="MX")
        Api(app, user["APIKey"]).create(SenderDomain="example.co.uk")
        status, body = call(app, user["APIKey"], "dns.set", Provider="namecheap", Domain="example.co.uk",
                            RecordType="campaign", **provider.good)
        assert body["success"] is True
        sets = [seen for seen in provider.server.requests if seen.form.get("Command") == "namecheap.domains.dns.setHosts"]
        assert sets and all((seen.form["SLD"], seen.form["TLD"]) == ("example", "co.uk") for seen in sets)
        assert all(seen.form.get("EmailType") == "MX" for seen in sets)
        assert ("example.co.uk", "MX", "10 mx.example.net") in provider.zone("example.co.uk")
    finally:
        provider.server.stop()


def test_no_credential_appears_in_any_log_line_or_response(app_for, dns, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    for name in ("cloudflare", "godaddy", "namecheap"):
        provider = make_provider(name)
        try:
            app = app_for(provider)
            user = Accounts(app).user()
            delegate(dns, "example.com", name)
            provider.server.add_zone("example.com", UNRELATED)
            Api(app, user["APIKey"]).create(SenderDomain="example.com")
            for credentials in (provider.good, provider.bad):
                for command in ("dns.authorize", "dns.set"):
                    bodies.append(call(app, user["APIKey"], command, Provider=name, Domain="example.com",
                                       RecordType="campaign", **credentials))
            provider.server.fail(10, status=500)
            bodies.append(set_records(app, user, provider))
            provider.server.hang(10)
            bodies.append(set_records(app, user, provider))
        finally:
            provider.server.stop()
    assert any(body.get("success") for _, body in bodies) and any(body.get("ErrorCode") == [9] for _, body in bodies)
    text = repr(bodies) + "\n".join(record.getMessage() + str(record.args) for record in caplog.records)
    text += caplog.text
    for secret in SECRETS:
        assert secret not in text


def test_dns_set_waits_for_another_writer_of_the_same_zone(app_for, dns):
    """Namecheap replaces the whole zone: a second writer must wait for the first to finish."""
    import threading

    from octeth_domains.locks import zone_lock

    provider = make_provider("namecheap")
    try:
        app = app_for(provider)
        user = Accounts(app).user()
        delegate(dns, "example.com", "namecheap")
        provider.server.add_zone("example.com", UNRELATED)
        Api(app, user["APIKey"]).create(SenderDomain="example.com")
        held, release = threading.Event(), threading.Event()

        def other_writer():
            with zone_lock(app.extensions["octeth_redis"], app.config["OCTETH_REDIS_KEY_PREFIX"], "example.com", wait=5):
                held.set()
                release.wait(5)

        thread = threading.Thread(target=other_writer)
        thread.start()
        held.wait(5)
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        status, body = set_records(app, user, provider)
        thread.join(5)
        assert body["success"] is True and time.monotonic() - started >= 0.9
        assert len(provider.zone()) == len(UNRELATED) + len(body["Records"])
    finally:
        provider.server.stop()


@pytest.mark.parametrize("shared", [True, False])
def test_a_zone_lock_held_too_long_times_out(redis_client, shared):
    import threading

    from octeth_domains.locks import LockTimeout, zone_lock

    client = redis_client if shared else None
    prefix = f"octeth-test-{time.time_ns()}"
    inside = threading.Event()
    done = threading.Event()

    def holder():
        with zone_lock(client, prefix, "held.example", wait=1):
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    inside.wait(5)
    with pytest.raises(LockTimeout):
        with zone_lock(client, prefix, "held.example", wait=0.3):
            pass
    with zone_lock(client, prefix, "other.example", wait=0.3):
        pass  # another zone is not held
    done.set()
    thread.join(5)
    with zone_lock(client, prefix, "held.example", wait=0.3):
        pass  # released
