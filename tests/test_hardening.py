"""Regression tests for the classes of bug issue #12 found: ids beyond the column, the lockout's
name, XML characters, empty credentials, localhost and dots in domain names."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from helpers import body, insert_domain
from octeth_domains.api.envelope import to_xml
from octeth_domains.senderdomains.names import InvalidDomain, LocalhostDomain, normalize_domain

LIST = "/api/v1/user.senderdomains"


# Ids outside the column's range (INT UNSIGNED) are a domain that does not exist -------------

@pytest.mark.parametrize("domain_id", [2**32, 2**63, 2**64 + 1, 10**30, str(2**63), str(2**32), "9" * 20])
@pytest.mark.parametrize("command", ["get", "update", "delete", "verify", "dns"])
def test_an_id_beyond_the_column_is_code_2(api, command, domain_id):
    status, data = getattr(api, command)(DomainID=domain_id)
    assert (status, data["Errors"][0]["Code"]) == (200, 2)


def test_the_bound_is_the_columns_not_one_less():
    # Changing a row's id to 2**32 - 1 would exhaust the shared test database's AUTO_INCREMENT.
    from octeth_domains.api.params import parse_id

    assert parse_id(2**32 - 1) == parse_id(str(2**32 - 1)) == 2**32 - 1
    assert parse_id(2**32) is None and parse_id("0" * 19 + "1") == 1


# The sign-in lockout counts the name the database matches -----------------------------------

def test_spelling_a_name_differently_buys_no_fresh_attempts(client, accounts):
    victim = accounts.user(username="bob")
    spellings = ["bob", "bob ", "bob   ", "bob\u0020\u0020"]
    for attempt in range(10):
        name = spellings[attempt % len(spellings)]
        data = body(client.post("/api/v1/user.login", json={"Username": name, "Password": "wrong"}))
        assert data["Errors"][0]["Code"] == 3
    for name in spellings:
        response = client.post("/api/v1/user.login", json={"Username": name, "Password": victim["Password"]})
        assert (response.status_code, body(response)["Errors"][0]["Code"]) == (429, 4)


# XML carries no character XML 1.0 cannot -----------------------------------------------------

@pytest.mark.parametrize("text", ["\x00", "\x01", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800", "\udfff"])
def test_xml_never_carries_a_character_xml_cannot(text):
    document = to_xml({"Key" + text: "a" + text + "]]>b", text: [text], "ok": {"1a": text}})
    root = ET.fromstring(document.encode("utf-8"))
    assert root.tag == "response" and "\ufffd" in root.findtext("ok/node")


def test_a_reflected_control_character_still_parses(client, accounts):
    user = accounts.user()
    response = client.post("/api.php", json={"Command": "dns.authorize", "APIKey": user["APIKey"], "Domain": "example.com",
                                             "Api_key": "k", "Provider": "no\x01such\x00one", "ResponseFormat": "XML"})
    root = ET.fromstring(response.get_data())
    assert root.findtext("Errors/node_0/Code") == "8"
    assert root.findtext("Errors/node_0/Message") == "Unsupported provider: no\ufffdsuch\ufffdone"


def test_json_with_a_lone_surrogate_is_still_sent():
    from octeth_domains.api.envelope import render

    response = render({"Success": False, "Text": "a\ud800b"})
    assert json.loads(response.get_data()) == {"Success": False, "Text": "a\ud800b"}


# An empty credential is an absent one ---------------------------------------------------------

@pytest.mark.parametrize("door", ["rest", "legacy"])
@pytest.mark.parametrize("empty", [
    {"query": {"SessionID": ""}},
    {"json": {"SessionID": None}},
    {"json": {"SessionID": ""}},
    {"headers": {"Authorization": "Bearer "}},
    {"headers": {"Authorization": "Bearer"}},
    {"headers": {"Authorization": "bearer    "}},
])
def test_an_empty_credential_is_absent(client, accounts, door, empty):
    user = accounts.user()
    query = {**empty.get("query", {})}
    payload = {**empty.get("json", {})}
    # The valid key arrives in the same source as the empty credential, and in the query otherwise.
    target = payload if "json" in empty else query
    target["APIKey"] = user["APIKey"]
    if door == "rest":
        response = client.post("/api/v1/user.senderdomain.list", query_string=query, json=payload,
                               headers=empty.get("headers", {}))
    else:
        response = client.post("/api.php", query_string=query, json={"Command": "user.senderdomain.list", **payload},
                               headers=empty.get("headers", {}))
    assert body(response) == {"Success": True, "SenderDomains": []}


@pytest.mark.parametrize("door, extra", [("/api/v1/user.senderdomains", {}), ("/api.php", {"Command": "user.senderdomain.list"})])
def test_empty_apikey_and_no_other_is_no_credential(client, door, extra):
    data = body(client.get(door, query_string={**extra, "APIKey": "", "SessionID": ""}))
    assert data["Errors"][0] == {"Code": 0, "Message": "Authentication failed"} and data["ErrorCode"] == [99998]


def test_a_credential_that_is_not_text_is_wrong_not_absent(client, accounts):
    user = accounts.user()
    data = body(client.post("/api.php", json={"Command": "user.senderdomain.list", "SessionID": 0,
                                              "APIKey": user["APIKey"]}))
    assert data["Errors"][0]["Code"] == 0


# localhost in every spelling, and dots ---------------------------------------------------------

LOCALHOSTS = ["localhost", "LocalHost", "localhost.", "localhost..", "ｌｏｃａｌｈｏｓｔ", "ＬＯＣＡＬＨＯＳＴ",
              "localhost\u3002", "mail.localhost", "a.b.LOCALHOST.", "ｍａｉｌ．ｌｏｃａｌｈｏｓｔ", " localhost "]
INVALID = ["a.com..", "a.com\u3002", "a.com\uff0e", "a.com\uff61", "a\u3002com", "a..com", "a\u3002\u3002com",
           ".a.com", "a.com.\u3002"]


@pytest.mark.parametrize("name", LOCALHOSTS)
def test_localhost_in_every_spelling_is_code_4(api, name):
    with pytest.raises(LocalhostDomain):
        normalize_domain(name)
    status, data = api.create(SenderDomain=name)
    assert (status, data["Errors"][0]) == (200, {"Code": 4, "Message": "localhost is not a valid sender domain"})


@pytest.mark.parametrize("name", INVALID)
def test_an_empty_label_or_another_dot_is_code_7_alike(api, name):
    with pytest.raises(InvalidDomain) as caught:
        normalize_domain(name)
    assert not isinstance(caught.value, LocalhostDomain)
    status, data = api.create(SenderDomain=name)
    assert status == 400 and data["Errors"][0]["Code"] == 7


def test_one_trailing_ascii_dot_is_removed(api):
    assert normalize_domain("Example.COM.") == "example.com"
    assert normalize_domain("ＥＸＡＭＰＬＥ.com") == "example.com"  # fullwidth letters fold, as NFKC does
    assert api.create(SenderDomain="example.com.")[1]["SenderDomain"]["SenderDomain"] == "example.com"


@pytest.mark.parametrize("name, reason", [
    ("not a domain", "letters, digits and inner hyphens"),
    ("example", "at least two labels"),
    ("a\u3002com", "separated by '.' only"),
    ("192.0.2.1", "IP address"),
    ("a" * 250 + ".com", "at most 253"),
    ("xn--zz.example", "internationalised"),
    # A valid name whose records' names (key1._domainkey.sl.<name>) would pass 253 characters.
    (".".join(["a" * 61] * 4)[:243] + ".com", "names too long for DNS"),
])
def test_code_7_carries_the_reason_beside_the_seeds_message(api, name, reason):
    status, data = api.create(SenderDomain=name)
    entry = data["Errors"][0]
    assert status == 400 and (entry["Code"], entry["Message"]) == (7, "Sender domain create process failed")
    assert reason in entry["Reason"]
    assert data["ErrorText"] == ["Sender domain create process failed"]


# Messages name no library exception -------------------------------------------------------------

LIBRARY_NAME = re.compile(r"\b(No[A-Z]\w+|NXDOMAIN|\w*Timeout|\w+Error|\w+Exception|YXDOMAIN)\b")


@pytest.mark.parametrize("command", ["dns.authorize", "dns.set"])
def test_a_failed_zone_lookup_is_said_in_words(make_app, dns, command):
    from conftest import Accounts

    host, port = dns.address  # answers REFUSED outside its zones: dnspython's NoNameservers
    for servers in (f"{host}:{port}", "127.0.0.1:1"):
        app = make_app(OCTETH_DNS_SERVERS=servers, OCTETH_DNS_TIMEOUT="0.5",
                       OCTETH_CLOUDFLARE_API_URL="http://127.0.0.1:1")
        user = Accounts(app).user()
        if command == "dns.set":
            app.test_client().post("/api/v1/user.senderdomain", json={"APIKey": user["APIKey"], "SenderDomain": "example.com"})
        data = body(app.test_client().post(f"/api/v1/{command}", json={
            "APIKey": user["APIKey"], "Domain": "example.com", "Provider": "cloudflare", "Api_key": "k",
            "RecordType": "campaign"}))
        message = data["Errors"][0]["Message"]
        assert data["Errors"][0]["Code"] == 9 and "example.com" in message
        assert not LIBRARY_NAME.search(message), message


# A urlencoded body with bytes that are not UTF-8 (a Latin-1 page of a PHP front end): werkzeug
# alone drops every field of it, so the request named no command. Each such byte reads as its %XX.

@pytest.mark.parametrize("extra", [b"X=\xff", b"Note=caf\xe9", b"\xfe=1", b"A=%ff&B=\xc3"])
def test_a_body_with_bytes_that_are_not_utf8_keeps_its_fields(client, accounts, extra):
    user = accounts.user()
    sent = b"Command=user.senderdomain.list&APIKey=" + user["APIKey"].encode() + b"&" + extra
    response = client.post("/api.php", data=sent, content_type="application/x-www-form-urlencoded")
    assert body(response) == {"Success": True, "SenderDomains": []}


def test_a_latin1_value_is_refused_by_its_commands_own_rule(client, accounts):
    user = accounts.user()
    sent = b"Command=user.senderdomain.create&APIKey=" + user["APIKey"].encode() + b"&SenderDomain=b\xfccher.example"
    data = body(client.post("/api.php", data=sent, content_type="application/x-www-form-urlencoded"))
    assert data["Errors"][0]["Code"] == 7, data  # not a domain name; the command was heard
    data = body(client.post("/api.php", data=b"Command=\xff", content_type="application/x-www-form-urlencoded"))
    assert data["ErrorText"] == 'Invalid API command: "%FF" not found.'


def test_a_page_form_with_bytes_that_are_not_utf8_keeps_its_token(app, accounts):
    from test_web import Visitor

    user = accounts.user()
    visitor = Visitor(app)
    sent = f"csrf_token={visitor.token}&username={user['Username']}&password=".encode() + b"caf\xe9"
    response = visitor.client.post("/app/user/senderdomains/login", data=sent,
                                   content_type="application/x-www-form-urlencoded")
    page = response.get_data(as_text=True)
    # The form arrived whole: a wrong password, not a missing security token.
    assert response.status_code == 200 and "Invalid login information" in page
    assert "security token (CSRF)" not in page
