"""dns.connect and the return page (SPEC §12; issue 16 items 2-4), against a local Domain Connect
DNS provider over HTTPS (a trustme certificate authority trusted through REQUESTS_CA_BUNDLE) and
the loopback DNS server: discovery, the template check, the signed apply URL and what applying it
writes, the codes, and the round trip back to the page."""
import base64
import html
import json
import re
import ssl
import time
import urllib.parse

import pytest
import requests
import trustme
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import Accounts
from helpers import free_port
from provider_servers.domainconnect import FakeDomainConnect, evaluate
from test_web import PAGES, Visitor, text
from test_stored_shapes import ODD_METAS, ODD_OPTIONS, ODD_RECORDS
from octeth_domains import create_app
from octeth_domains.domainconnect import StateStore

PROVIDER_ID = "octeth.example"
SERVICE_ID = "senderdomain"
APPLY_PATH = f"/sync/v2/domainTemplates/providers/{PROVIDER_ID}/services/{SERVICE_ID}/apply"


@pytest.fixture(scope="session")
def ca():
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def provider(ca, ca_bundle, dns, monkeypatch):
    """The DNS provider of example.com, over HTTPS on a free port, trusted by the app's requests
    through the environment as any deployment would trust a CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_bundle)
    with FakeDomainConnect(context, dns) as fake:
        dns.add_zone("example.com")
        dns.set_record("_domainconnect.example.com", "TXT", fake.host)
        fake.zones.add("example.com")
        yield fake


@pytest.fixture
def connect_env(make_env, templates_file, dns):
    host, port = dns.address
    return make_env(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                    OCTETH_DNS_TIMEOUT="1", OCTETH_PROVIDER_TIMEOUT="3", OCTETH_DNS_AUTHORITATIVE="0",
                    OCTETH_DOMAINCONNECT_PROVIDER_ID=PROVIDER_ID, OCTETH_DOMAINCONNECT_TEMPLATE="Full",
                    OCTETH_DOMAINCONNECT_REDIRECT_DOMAINS="app.octeth.example", OCTETH_DOMAINCONNECT_ALLOW_PRIVATE="1")


def run_cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def connect_app(connect_env, provider, dns):
    return connected_app(connect_env, provider, dns)


def connected_app(connect_env, provider, dns):
    app = create_app(connect_env)
    app.config["TESTING"] = True
    app.extensions["octeth_db"].upgrade()
    # What the operator does once: make the keys, publish them, register the template.
    keys = json.loads(run_cli(app, "domainconnect", "keys").strip().splitlines()[-1])
    for record in keys["TXT"]:
        dns.add_record(keys["Name"], "TXT", record)
    provider.templates[(PROVIDER_ID, SERVICE_ID)] = json.loads(run_cli(app, "domainconnect", "template"))
    app.keys = keys
    return app


@pytest.fixture
def user(connect_app):
    return Accounts(connect_app).user(dns_template="Full")


class Client:
    def __init__(self, app, api_key):
        self.http = app.test_client()
        self.api_key = api_key

    def call(self, command, legacy=False, **params):
        params = {"APIKey": self.api_key, **params}
        if legacy:
            response = self.http.post("/api.php", data={"Command": command, **params})
        elif command == "user.senderdomain.create":
            response = self.http.post("/api/v1/user.senderdomain", json=params)
        elif command in ("user.senderdomain.get", "user.senderdomain.dns"):
            response = self.http.get(f"/api/v1/{command.replace('.get', '')}", query_string=params)
        else:
            response = self.http.post(f"/api/v1/{command}", json=params)
        return response.get_json()

    def create(self, name, **options):
        body = self.call("user.senderdomain.create", SenderDomain=name, **options)
        assert body["Success"], body
        return body["DomainID"]

    def connect(self, **params):
        return self.call("dns.connect", **params)

    def stored(self, domain_id):
        meta = self.call("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]["VerificationMeta"]
        return {host: record[:2] for host, record in meta["DNSRecords"].items()}


@pytest.fixture
def client(connect_app, user):
    return Client(connect_app, user["APIKey"])


def split(url):
    """(scheme://host, path, the signed query, its parameters in order, sig, key)."""
    parsed = urllib.parse.urlsplit(url)
    signed, _, tail = parsed.query.partition("&sig=")
    extra = dict(urllib.parse.parse_qsl("sig=" + tail))
    assert list(extra) == ["sig", "key"]
    return (f"{parsed.scheme}://{parsed.netloc}", parsed.path, signed,
            urllib.parse.parse_qsl(signed, keep_blank_values=True), extra["sig"], extra["key"])


def public_key(app):
    pieces = {int(record.split(",")[0][2:]): record.split("d=", 1)[1] for record in app.keys["TXT"]}
    return serialization.load_der_public_key(base64.b64decode("".join(pieces[n] for n in sorted(pieces))))


def signature_holds(app, query, sig) -> bool:
    try:
        public_key(app).verify(base64.b64decode(sig), query.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def applied(template, params):
    return {name: [rtype, value] for name, rtype, value in evaluate(template, params, (
        params["groupId"].split(",") if "groupId" in params else None))}


def same(records, stored):
    def canonical(items):
        return {(h.lower(), t, v.rstrip(".").lower() if t == "CNAME" else v) for h, (t, v) in items.items()}
    return canonical(records) == canonical(stored)


# The signed apply URL --------------------------------------------------------------------------

@pytest.mark.parametrize("legacy", [False, True])
def test_connect_answers_the_signed_apply_url(connect_app, client, provider, legacy):
    domain_id = client.create("news.example.com")
    body = client.call("dns.connect", legacy=legacy, DomainID=domain_id)
    assert set(body) == {"Success", "DomainID", "ProviderName", "URL"}, body
    assert body["Success"] is True and body["DomainID"] == domain_id and body["ProviderName"] == "Fake DNS"
    origin, path, query, params, sig, key = split(body["URL"])
    assert origin == provider.url and path == APPLY_PATH
    names = [name for name, _ in params]
    assert names == sorted(names)  # sorted by name
    assert query == urllib.parse.urlencode(params)  # and url-encoded as the reference client does
    values = dict(params)
    stored = client.stored(domain_id)
    label_host = next(host for host, (rtype, _) in stored.items() if rtype == "TXT")
    assert values == {
        "domain": "example.com", "host": "news",
        "subdomain": "sl", "trackprefix": "track",
        "ownerlabel": label_host.split(".")[0], "ownertoken": stored[label_host][1],
        "redirect_uri": f"http://localhost{PAGES}/{domain_id}/connected", "state": values["state"],
    }
    assert len(values["state"]) >= 32 and key == "_dck1"
    assert signature_holds(connect_app, query, sig)
    # Applying the template with those variables at host.domain gives exactly the stored records.
    assert same(applied(provider.templates[(PROVIDER_ID, SERVICE_ID)], values), stored)


def test_a_changed_parameter_fails_the_signature(connect_app, client, provider, dns, ca_bundle):
    body = client.connect(DomainID=client.create("news.example.com"))
    _, _, query, params, sig, _ = split(body["URL"])
    for index, (name, value) in enumerate(params):
        changed = list(params)
        changed[index] = (name, value + "x")
        assert not signature_holds(connect_app, urllib.parse.urlencode(changed), sig), name
    tampered = body["URL"].replace("subdomain=sl", "subdomain=evil")
    response = requests.get(tampered, verify=ca_bundle, allow_redirects=False, timeout=5)
    assert response.status_code == 403 and provider.applied == []  # the provider refuses it too
    # The untouched URL is accepted by the same provider.
    assert requests.get(body["URL"], verify=ca_bundle, allow_redirects=False, timeout=5).status_code == 302
    assert len(provider.applied) == 1


def test_apex_domain_has_no_host_and_custom_labels_and_no_tracking_host(connect_app, client, provider):
    domain_id = client.create("example.com", CustomSubdomain="bounce", CustomTrackPrefix="clicks",
                              UseTrackingSubdomain=False)
    body = client.connect(DomainID=domain_id)
    _, _, query, params, sig, _ = split(body["URL"])
    values = dict(params)
    assert "host" not in values and values["domain"] == "example.com"
    assert values["subdomain"] == "bounce" and values["groupId"] == "records"  # the tracking record left out
    stored = client.stored(domain_id)
    assert not any(host.startswith("clicks") for host in stored)
    assert same(applied(provider.templates[(PROVIDER_ID, SERVICE_ID)], values), stored)
    assert signature_holds(connect_app, query, sig)


def test_a_redirect_uri_must_be_ours(client, provider):
    domain_id = client.create("news.example.com")
    for wrong in ("https://evil.example/x", "javascript:alert(1)", "/relative/path", "ftp://app.octeth.example/"):
        body = client.connect(DomainID=domain_id, RedirectURI=wrong)
        assert body["Errors"][0]["Code"] == 5, (wrong, body)
    for wrong in (["https://app.octeth.example/"], {"a": 1}, 12, True, "http://[::1", "https://app.octeth.example:x/",
                  "https://app.octeth.example/\nSet-Cookie: x", "https://app.octeth.example/" + "a" * 3000,
                  "https://app.octeth.example.evil.example/", "https://user@evil.example/"):
        body = client.connect(DomainID=domain_id, RedirectURI=wrong)
        assert body["Errors"][0]["Code"] == 5, (wrong, body)
    legacy = client.call("dns.connect", legacy=True, DomainID=domain_id, RedirectURI="https://evil.example/")
    assert legacy["Errors"][0]["Code"] == 5
    body = client.connect(DomainID=domain_id, RedirectURI="https://app.octeth.example/back?x=1")
    assert dict(split(body["URL"])[3])["redirect_uri"] == "https://app.octeth.example/back?x=1"


def test_the_redirect_uri_names_only_trusted_hosts(connect_env, provider, dns):
    # Without OCTETH_TRUSTED_HOSTS the request's own host is one of "ours": whoever sets the Host
    # header gets a signed link back to it.
    open_app = connected_app(connect_env, provider, dns)
    open_client = Client(open_app, Accounts(open_app).user(dns_template="Full")["APIKey"])
    domain_id = open_client.create("news.example.com")
    body = open_client.http.post("/api/v1/dns.connect", headers={"Host": "evil.example"}, json={
        "APIKey": open_client.api_key, "DomainID": domain_id, "RedirectURI": "https://evil.example/x"}).get_json()
    assert dict(split(body["URL"])[3])["redirect_uri"] == "https://evil.example/x"

    app = connected_app({**connect_env, "OCTETH_TRUSTED_HOSTS": "octeth.example, localhost"}, provider, dns)
    client = Client(app, Accounts(app).user(dns_template="Full")["APIKey"])
    domain_id = client.create("news.example.com")
    for door in ("/api/v1/dns.connect", "/api.php"):
        response = client.http.post(door, headers={"Host": "evil.example"}, data={
            "Command": "dns.connect", "APIKey": client.api_key, "DomainID": domain_id,
            "RedirectURI": "https://evil.example/x"})
        assert response.status_code == 400, door
        assert response.get_json()["ErrorCode"] == 100001, door
    ours = {"Host": "Octeth.Example"}  # a host name in any case
    body = client.http.post("/api/v1/dns.connect", headers=ours, json={
        "APIKey": client.api_key, "DomainID": domain_id, "RedirectURI": "https://evil.example/x"}).get_json()
    assert body["Errors"][0]["Code"] == 5, body
    body = client.http.post("/api/v1/dns.connect", headers=ours, json={
        "APIKey": client.api_key, "DomainID": domain_id}).get_json()
    assert dict(split(body["URL"])[3])["redirect_uri"] == f"http://octeth.example{PAGES}/{domain_id}/connected"


# The codes --------------------------------------------------------------------------------------

def test_missing_and_someone_elses_domain(connect_app, client):
    assert client.connect()["Errors"][0]["Code"] == 1
    other = Client(connect_app, Accounts(connect_app).user(dns_template="Full")["APIKey"])
    domain_id = other.create("news.example.com")
    body = client.connect(DomainID=domain_id)
    assert body["Errors"][0] == {"Code": 2, "Message": "Sender domain not found"}
    assert client.connect(DomainID="12abc")["Errors"][0]["Code"] == 2


def test_a_provider_without_the_template_answers_4_with_the_reason(client, provider):
    provider.templates.clear()
    body = client.connect(DomainID=client.create("news.example.com"))
    error = body["Errors"][0]
    assert error["Code"] == 4 and "Fake DNS does not support this service's Domain Connect template" in error["Message"]
    assert any(seen.path == f"/api/v2/domainTemplates/providers/{PROVIDER_ID}/services/{SERVICE_ID}"
               for seen in provider.requests)


def test_a_zone_without_domainconnect_answers_4(client, provider, dns):
    dns.remove("_domainconnect.example.com")
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 4 and "no _domainconnect record" in body["Errors"][0]["Message"]
    assert provider.requests == []


def test_a_provider_that_does_not_hold_the_zone_answers_4(client, provider):
    provider.zones.clear()
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 4 and "does not hold the zone example.com" in body["Errors"][0]["Message"]


def test_an_unreachable_settings_endpoint_answers_9(client, provider, dns):
    dns.set_record("_domainconnect.example.com", "TXT", f"127.0.0.1:{free_port()}")
    body = client.connect(DomainID=client.create("news.example.com"))
    message = body["Errors"][0]["Message"]
    assert body["Errors"][0]["Code"] == 9 and "could not be reached (no connection to it)" in message
    assert not re.search(r"[A-Z][a-z]+(Error|Exception)\b", message), message


def test_a_provider_failing_answers_9(client, provider):
    provider.fail(5, status=503)
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 9 and "HTTP 503" in body["Errors"][0]["Message"]


def test_an_untrusted_certificate_answers_9(client, provider, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # the test CA is then unknown: verification is on
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 9 and "valid HTTPS certificate" in body["Errors"][0]["Message"]


def test_a_provider_at_a_private_address_is_not_called(connect_env, provider, dns):
    # The _domainconnect record is the domain owner's to write: it must not aim the service inside.
    app = create_app({**connect_env, "OCTETH_DOMAINCONNECT_ALLOW_PRIVATE": "0"})
    app.extensions["octeth_db"].upgrade()
    run_cli(app, "domainconnect", "keys")
    client = Client(app, Accounts(app).user(dns_template="Full")["APIKey"])
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 4 and "private address (127.0.0.1)" in body["Errors"][0]["Message"]
    assert provider.requests == []


def test_discovery_is_remembered_per_zone(client, provider):
    first = client.connect(DomainID=client.create("news.example.com"))
    assert first["Success"] and len(provider.requests) == 2  # settings, then the template
    provider.fail(10, status=503)
    again = client.connect(DomainID=client.create("shop.example.com"))
    assert again["Success"] and len(provider.requests) == 2
    assert dict(split(again["URL"])[3])["host"] == "shop"


def test_the_feature_off_answers_3(make_app, templates_file, provider):
    app = make_app(OCTETH_DNS_TEMPLATES=str(templates_file))
    client = Client(app, Accounts(app).user()["APIKey"])
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 3 and provider.requests == []


def test_no_signing_key_answers_3(connect_app, client):
    import os

    os.unlink(connect_app.config["OCTETH_DOMAINCONNECT_PRIVATE_KEY"])
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 3 and "domainconnect keys" in body["Errors"][0]["Message"]


def test_records_of_another_template_are_not_offered(connect_app, provider):
    # A group on another DNS template: the registered template would write other records.
    client = Client(connect_app, Accounts(connect_app).user(dns_template="Default")["APIKey"])
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 4 and "not those of the Domain Connect template" in body["Errors"][0]["Message"]


ODD_SHAPES = {
    **{f"options {name}": ("Options", value, None) for name, value in ODD_OPTIONS.items()},
    **{f"record {name} beside good ones": ("VerificationMeta", item, True) for name, item in ODD_RECORDS.items()},
    **{f"record {name} alone": ("VerificationMeta", item, False) for name, item in ODD_RECORDS.items()},
    **{name: ("VerificationMeta", meta, None) for name, meta in ODD_METAS.items()},
}


def test_a_row_of_an_odd_shape_is_connected_as_it_reads_or_refused_with_4(connect_app, client, provider):
    # One app for every shape (each makes its keys): a domain each, under the provider's zone.
    for number, (shape, (column, value, beside)) in enumerate(ODD_SHAPES.items()):
        domain_id = client.create(f"n{number}.example.com")
        if beside is not None:
            good = client.stored(domain_id)
            value = {"DNSRecords": {**(good if beside else {}), f"odd.n{number}.example.com": value}}
        with connect_app.extensions["octeth_db"].session() as db:
            db.execute(f"UPDATE {{p}}sender_domains SET {column} = ? WHERE DomainID = ?", (json.dumps(value), domain_id))
            before = db.one("SELECT VerificationMeta, Options FROM {p}sender_domains WHERE DomainID = ?", (domain_id,))
        response = client.http.post("/api/v1/dns.connect", json={"APIKey": client.api_key, "DomainID": domain_id})
        body = response.get_json()
        if column == "Options" or beside:
            # A label it cannot read is the default one, an entry it cannot read is not offered.
            assert response.status_code == 200 and body["Success"] is True, (shape, body)
            values = dict(split(body["URL"])[3])
            assert (values["subdomain"], values["trackprefix"]) == ("sl", "track"), shape
        else:
            assert response.status_code < 500 and body["Errors"][0]["Code"] == 4, (shape, body)
            assert "no DNS records to publish" in body["Errors"][0]["Message"], shape
        with connect_app.extensions["octeth_db"].session() as db:
            assert db.one("SELECT VerificationMeta, Options FROM {p}sender_domains WHERE DomainID = ?",
                          (domain_id,)) == before, shape


# The state --------------------------------------------------------------------------------------

@pytest.mark.parametrize("store", ["redis", "memory"])
def test_a_state_is_single_use_and_expires(store, redis_client):
    states = StateStore(redis_client if store == "redis" else None, prefix=f"octeth-test-{time.time_ns()}:")
    state = states.issue({"DomainID": 1})
    assert states.take(state) == {"DomainID": 1}
    assert states.take(state) is None
    short = states.issue({"DomainID": 2}, ttl=0.2)
    time.sleep(0.3)
    assert states.take(short) is None
    assert states.take("") is None and states.take("x" * 500) is None


def test_states_live_ten_minutes(connect_app, client, backend, redis_client):
    body = client.connect(DomainID=client.create("news.example.com"))
    state = dict(split(body["URL"])[3])["state"]
    if backend == "mariadb":
        ttl = redis_client.pttl(f"{connect_app.config['OCTETH_REDIS_KEY_PREFIX']}:dcstates:{state}")
    else:
        store = connect_app.extensions["octeth_domainconnect_states"]
        ttl = (store._memory[state][0] - time.monotonic()) * 1000
    assert 590_000 < ttl <= 600_000


# The round trip through the pages ---------------------------------------------------------------

@pytest.fixture
def visitor(connect_app, user):
    visitor = Visitor(connect_app)
    visitor.sign_in(user)
    return visitor


def test_the_edit_page_offers_connect_and_the_return_verifies(connect_app, client, visitor, provider, ca_bundle):
    domain_id = client.create("news.example.com")
    page = text(visitor.get(f"/{domain_id}"))  # checks the records now: none is published yet
    assert "Connect with Fake DNS" in page
    assert page.index("Connect with Fake DNS") < page.index(f"{PAGES}/{domain_id}/auto")  # above the key form's link
    response = visitor.post(f"/{domain_id}/connect")
    # A page of ours that moves on to the provider by itself: a 302 answering the form would be
    # blocked by the pages' form-action 'self' (tests/test_web_connect_browser.py shows it in Chromium).
    assert response.status_code == 200
    served = response.get_data(as_text=True)
    apply_url = html.unescape(re.search(r'<a class="button" id="continue" href="([^"]+)"', served).group(1))
    assert apply_url.startswith(provider.url + APPLY_PATH)
    assert f'<meta http-equiv="refresh" content="0; url={html.escape(apply_url)}">' in served
    # The user approves at the provider, which applies the template and sends them back.
    back = requests.get(apply_url, verify=ca_bundle, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    location = urllib.parse.urlsplit(back.headers["Location"])
    assert location.path == f"{PAGES}/{domain_id}/connected"
    state = dict(urllib.parse.parse_qsl(location.query))["state"]

    before = client.call("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    assert before["Status"] == "Approval Pending"
    for wrong in ("", "not-the-state", state[:-1] + ("A" if state[-1] != "A" else "B")):
        refused = visitor.get(f"/{domain_id}/connected?state={wrong}")
        assert refused.status_code == 400 and "Nothing was changed" in text(refused)
    assert client.call("user.senderdomain.get", DomainID=domain_id)["SenderDomain"] == before

    done = visitor.get(f"/{domain_id}/connected?{location.query}")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{PAGES}/{domain_id}#records")
    after = client.call("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    assert after["Status"] == "Enabled"
    assert all(record[2] is True for record in after["VerificationMeta"]["DNSRecords"].values())
    assert "all 5 DNS records verified" in text(visitor.get(f"/{domain_id}"))
    # The state was used: the same link again is refused.
    assert visitor.get(f"/{domain_id}/connected?{location.query}").status_code == 400


def test_a_state_for_another_domain_is_refused(connect_app, client, visitor, provider, dns):
    first, second = client.create("news.example.com"), client.create("shop.example.com")
    state = dict(split(client.connect(DomainID=first)["URL"])[3])["state"]
    refused = visitor.get(f"/{second}/connected?state={state}")
    assert refused.status_code == 400
    assert client.call("user.senderdomain.get", DomainID=second)["SenderDomain"]["Status"] == "Approval Pending"


# A host the domain's owner names ------------------------------------------------------------------

def test_a_host_trickling_its_answer_is_cut_at_the_timeout(connect_env, provider, dns):
    # 10 MB promised at 40 bytes a second: each read of the socket arrives within the timeout,
    # the whole answer never would.
    app = connected_app({**connect_env, "OCTETH_PROVIDER_TIMEOUT": "1"}, provider, dns)
    client = Client(app, Accounts(app).user(dns_template="Full")["APIKey"])
    domain_id = client.create("news.example.com")
    provider.trickle = (10_000_000, 40.0)
    started = time.monotonic()
    body = client.connect(DomainID=domain_id)
    assert time.monotonic() - started < 4
    assert body["Errors"][0]["Code"] == 9 and "did not answer within 1 seconds" in body["Errors"][0]["Message"]


@pytest.fixture
def header_trickler(ca):
    """An HTTPS host that answers a status line, then one header line every 0.2 s, for ever:
    every read of the socket gets a byte in time, the headers never end."""
    import socket
    import threading

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn):
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += tls.recv(4096)
                tls.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.wait(0.2):
                    tls.sendall(b"X-Slow: a\r\n")
        except OSError:
            pass  # the client gave up: what the test wants

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def test_a_host_trickling_its_headers_is_cut_at_the_timeout(connect_env, provider, dns, header_trickler):
    app = connected_app({**connect_env, "OCTETH_PROVIDER_TIMEOUT": "1"}, provider, dns)
    client = Client(app, Accounts(app).user(dns_template="Full")["APIKey"])
    domain_id = client.create("news.example.com")
    dns.set_record("_domainconnect.example.com", "TXT", header_trickler)
    started = time.monotonic()
    body = client.connect(DomainID=domain_id)
    assert time.monotonic() - started < 4
    assert body["Errors"][0]["Code"] == 9 and "did not answer within 1 seconds" in body["Errors"][0]["Message"], body


def test_a_host_answering_more_than_a_settings_document_is_refused(client, provider):
    provider.trickle = (200_000_000, 50_000_000.0)  # 200 MB as fast as it goes
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 4 and "answered more than 64 KiB" in body["Errors"][0]["Message"]


@pytest.mark.parametrize("name, shown", [
    ("\ud800 Evil", "? Evil"),  # a lone surrogate, which no page can encode
    ("Evil\u0000\u202e\n DNS", "Evil DNS"),
    (["a", "b"], "Fake DNS"),  # not text: the next name is used
    (12, "Fake DNS"),
    ("x" * 10_000, "x" * 99 + "…"),  # 100 characters with the ellipsis
])
def test_a_providers_name_is_shown_as_text(connect_app, client, visitor, provider, name, shown):
    provider.settings_extra = {"providerDisplayName": name}
    if not isinstance(name, str):
        provider.settings_extra["providerName"] = "Fake DNS"
    domain_id = client.create("news.example.com")
    body = client.connect(DomainID=domain_id)
    assert body["Success"] is True and body["ProviderName"] == shown
    page = visitor.get(f"/{domain_id}")
    assert page.status_code == 200 and f"Connect with {shown}" in text(page)
    assert visitor.post(f"/{domain_id}/connect").status_code == 200
    state = dict(split(body["URL"])[3])["state"]
    assert visitor.get(f"/{domain_id}/connected?state={state}").status_code == 302
    for path in (f"/{domain_id}", "/"):  # the flash the return left in the session renders too
        assert visitor.get(path).status_code == 200, path


@pytest.mark.parametrize("field, value", [
    ("urlSyncUX", "https://127.0.0.1/\ud800"), ("urlSyncUX", "https://127.0.0.1/a b"),
    ("urlSyncUX", "https://127.0.0.1/\u00e9"), ("urlAPI", "https://127.0.0.1/\u0000"),
    ("urlAPI", "https://127.0.0.1/" + "a" * 3000),
])
def test_a_provider_url_that_is_not_plain_https_is_refused(client, provider, field, value):
    provider.settings_extra = {field: value}
    body = client.connect(DomainID=client.create("news.example.com"))
    assert body["Errors"][0]["Code"] == 4, body


def test_the_return_trusts_dns_not_the_redirect(connect_app, client, visitor, provider):
    # A valid state, but nothing was applied: the check says so and the domain stays pending.
    domain_id = client.create("news.example.com")
    state = dict(split(client.connect(DomainID=domain_id)["URL"])[3])["state"]
    response = visitor.get(f"/{domain_id}/connected?state={state}")
    assert response.status_code == 302
    assert client.call("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]["Status"] == "Approval Pending"
    assert "5 of 5 DNS records not verified yet" in text(visitor.get(f"/{domain_id}"))


def test_no_connect_offer_without_domain_connect(connect_app, client, visitor, provider, dns):
    domain_id = client.create("news.example.com")
    dns.remove("_domainconnect.example.com")
    page = text(visitor.get(f"/{domain_id}"))
    assert "Connect with" not in page and "Set up automatically" in page
