"""OCTETH_TRUSTED_HOSTS: the Host names the service answers to (Flask's TRUSTED_HOSTS)."""
import pytest

from conftest import Accounts
from helpers import body
from test_web import PAGES
from octeth_domains import create_app
from octeth_domains.config import ConfigError

HOSTS = "api.octeth.example, .customers.example, 192.0.2.10, Bücher.example"


@pytest.fixture
def app(make_app):
    return make_app(OCTETH_TRUSTED_HOSTS=HOSTS)


@pytest.mark.parametrize("host", ["api.octeth.example", "API.Octeth.Example", "api.octeth.example:8443",
                                  "customers.example", "eu.customers.example", "a.b.customers.example", "192.0.2.10:8080",
                                  "xn--bcher-kva.example"])
def test_a_listed_host_is_served_on_every_door(app, host):
    key = Accounts(app).user()["APIKey"]
    client = app.test_client()
    headers = {"Host": host}
    assert body(client.get("/api/v1/user.senderdomains", headers=headers,
                           query_string={"APIKey": key}))["Success"] is True
    assert body(client.post("/api.php", headers=headers, data={
        "Command": "user.senderdomain.list", "APIKey": key}))["Success"] is True
    assert client.get(f"{PAGES}/login", headers=headers).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "octeth.example", "customers.example.evil.example",
                                  "xcustomers.example", "api.octeth.example.", "192.0.2.11", "[::1]:8080",
                                  "api.octeth.example@evil.example", "bücher.example", ""])
def test_any_other_host_is_refused_in_the_envelope_or_as_a_page(app, host):
    key = Accounts(app).user()["APIKey"]
    client = app.test_client()
    headers = {"Host": host}
    for response in (client.get("/api/v1/user.senderdomains", headers=headers, query_string={"APIKey": key}),
                     client.post("/api.php", headers=headers, data={"Command": "user.senderdomain.list",
                                                                    "APIKey": key}),
                     client.get("/api/v1/nothing.here", headers=headers)):
        assert response.status_code == 400, host
        data = body(response)
        assert data["Success"] is False and data["ErrorCode"] == 100001, data
        assert "Host" in data["ErrorText"] and "evil" not in data["ErrorText"]
    for page in (f"{PAGES}/login", f"{PAGES}/", f"{PAGES}/no/such/page"):
        response = client.get(page, headers=headers)
        assert response.status_code == 400 and response.mimetype == "text/html", page
        text = response.get_data(as_text=True)
        assert "not one this service answers to" in text and "Traceback" not in text
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("trusted", ["", "good.example, .ok.example"])
@pytest.mark.parametrize("host", ["a..b", ".x", "x" * 64 + ".example", "a..ok.example", "..ok.example"])
def test_a_host_that_is_no_host_name_is_refused_with_or_without_the_setting(make_app, trusted, host):
    app = make_app(OCTETH_TRUSTED_HOSTS=trusted)
    client = app.test_client()
    response = client.post("/api.php", headers={"Host": host}, data={"Command": "user.senderdomain.list"})
    assert response.status_code == 400 and "Host" in body(response)["ErrorText"]
    response = client.get(f"{PAGES}/login", headers={"Host": host})
    assert response.status_code == 400 and "not one this service answers to" in response.get_data(as_text=True)


def test_a_refused_host_changes_nothing_stored(app):
    key = Accounts(app).user()["APIKey"]
    client = app.test_client()
    ours, theirs = {"Host": "api.octeth.example"}, {"Host": "evil.example"}
    created = body(client.post("/api/v1/user.senderdomain", headers=ours,
                               json={"APIKey": key, "SenderDomain": "news.example.com"}))
    assert created["Success"] is True
    domain_id = created["DomainID"]
    refused = [client.post("/api/v1/user.senderdomain", headers=theirs,
                           json={"APIKey": key, "SenderDomain": "other.example.com"}),
               client.delete("/api/v1/user.senderdomain", headers=theirs,
                             query_string={"APIKey": key, "DomainID": domain_id})]
    assert [response.status_code for response in refused] == [400, 400]
    listed = body(client.get("/api/v1/user.senderdomains", headers=ours, query_string={"APIKey": key}))
    assert [row["SenderDomain"] for row in listed["SenderDomains"]] == ["news.example.com"]


def test_health_answers_whatever_host_a_probe_sends(app):
    client = app.test_client()
    for host in ("10.0.0.5:8080", "evil.example", "api.octeth.example"):
        assert client.get("/health", headers={"Host": host}).status_code == 200, host


def test_without_the_setting_any_host_is_served(make_app):
    app = make_app()
    assert app.config["TRUSTED_HOSTS"] is None
    response = app.test_client().get("/api/v1/user.senderdomains", headers={"Host": "anything.example"})
    assert response.status_code == 200 and body(response)["ErrorCode"] == [99998]


@pytest.mark.parametrize("value", ["api.octeth.example:443", "[::1]", "::1", ".192.0.2.1", "a b.example",
                                   "under_score.example", "-bad.example", "a..example", "*.example",
                                   "http://api.octeth.example", "x" * 64 + ".example"])
def test_a_setting_that_cannot_match_is_refused_at_start(make_env, value):
    with pytest.raises(ConfigError, match="OCTETH_TRUSTED_HOSTS"):
        create_app(make_env(OCTETH_TRUSTED_HOSTS=f"api.octeth.example, {value}"))


def test_the_setting_is_normalised(make_env):
    app = create_app(make_env(OCTETH_TRUSTED_HOSTS=" API.octeth.example. ,, .Customers.Example,bücher.example "))
    assert app.config["TRUSTED_HOSTS"] == ["api.octeth.example", ".customers.example", "xn--bcher-kva.example"]
